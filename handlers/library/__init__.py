"""The library's shared facts: its calendar, opening-hours words and shared validators."""
