"""The small web app behind the links in mails (opt-out now; answers and check-in build on it)."""
