"""The merchant admin shell: sign-in, layout and navigation, overview, orders, customers, jobs, settings."""
