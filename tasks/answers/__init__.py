"""Answers and attendance: from the sheet, the form and the links; each person's status back to
the sheet; coverage by district and role."""
