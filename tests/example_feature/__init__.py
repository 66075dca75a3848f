"""The smallest feature package: what a new feature of plugin/ writes to plug in (tests install it)."""
