"""The web pages behind the links in mails and the door's check-in: app (routing), answer (/r),
opt_out (/u), check_in (/c) and pages (what they share)."""
