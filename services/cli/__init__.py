"""The `switchboard` command: one entry point for every process."""
