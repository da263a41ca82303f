"""The intent layer: text in, intent and entities out. Pure Python; no Flask, no XML."""
