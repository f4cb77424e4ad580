"""Prefect flows: one file per thing an operator runs; orchestration only."""
