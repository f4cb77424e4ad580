"""The work: pure functions that think, and thin Prefect tasks that each talk to one system."""
