"""Karyashala: a party event's operations as Prefect flows."""
