"""The roster: read it, check it, diff it with the store, store it, report its problems."""
