"""Answers by email reply and bounces, read from the reply inbox over IMAP."""
