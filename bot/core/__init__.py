"""The core: values, clock, database and migrations runner, settings, errors and the shared
yes/no words. It imports nothing of ours outside bot/core."""
