"""Masking for anything a log, artifact or error shows: emails and phone numbers."""

import re

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+)")
PHONE = re.compile(r"(?<![\w/.=-])\+?\d[\d\s-]{7,}\d(?![\w/])")


def mask_contacts(text: str) -> str:
    """r…@example.org and ******5678: enough to tell apart, not enough to contact."""
    text = EMAIL.sub(lambda m: f"{m.group(1)}…@{m.group(2)}", text)
    return PHONE.sub(lambda m: "*" * 6 + re.sub(r"\D", "", m.group(0))[-4:], text)
