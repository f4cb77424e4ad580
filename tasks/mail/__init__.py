"""Invitation mail: who a stage goes to, the message ledger, rendering, the calendar entry,
SMTP, the local outbox, previews."""
