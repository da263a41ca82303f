"""Tickets: hand-off to a librarian, feedback and crisis tickets, and the console's ticket pages."""
