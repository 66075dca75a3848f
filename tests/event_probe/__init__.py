"""A feature that only watches the sync package's events, for the test that runs it in real workers."""
