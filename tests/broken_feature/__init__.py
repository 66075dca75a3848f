"""A feature whose subscriber names a function that does not exist (tests/unit/test_features.py)."""
