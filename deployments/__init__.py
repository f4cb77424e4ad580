"""Deployments: an event's dates turned into schedules on a Prefect server, and mail to its ops."""
