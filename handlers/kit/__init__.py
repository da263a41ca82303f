"""What every capability builds on: the Action base, Capability and the form engine."""
