"""Our Prefect block for mail to ops over plain SMTP, which Prefect's core blocks do not offer.

Automations send notifications inside the Prefect server process, which finds a block's class by
importing the `prefect.collections` entry points: pyproject.toml names this module there, so the
server has to run where this package is installed. Keep it light: the server imports it at start.
"""

from typing import Literal
from urllib.parse import quote, urlencode

from prefect.blocks.notifications import AbstractAppriseNotificationBlock
from pydantic import Field, SecretStr

SmtpSecurity = Literal["none", "starttls", "ssl"]


class SMTPEmail(AbstractAppriseNotificationBlock):
    """Send a notification as a plain-text email through an SMTP server, one message for each
    recipient."""

    _block_type_name = "SMTP Email"
    _block_type_slug = "karyashala-smtp-email"
    _description = "Notifications as plain-text email through an SMTP server (Karyashala)."

    host: str = Field(description="SMTP server host.")
    port: int = Field(description="SMTP server port.")
    security: SmtpSecurity = Field(
        default="starttls",
        description="none, starttls or ssl, as KARYASHALA_SMTP_SECURITY; certificates are "
        "verified.",
    )
    username: str | None = Field(default=None, description="Login; none means no login.")
    password: SecretStr | None = Field(default=None, description="Password of the login.")
    from_address: str = Field(description="Sender address.")
    from_name: str = Field(default="Karyashala", description="Sender name.")
    to: list[str] = Field(min_length=1, description="Recipients, each sent their own message.")

    def apprise_url(self) -> SecretStr:
        """Apprise's mailto URL for these settings; it holds the password, so it stays secret."""
        scheme = "mailto" if self.security == "none" else "mailtos"
        login = ""
        if self.username:
            login = quote(self.username, safe="")
            if self.password:
                login += ":" + quote(self.password.get_secret_value(), safe="")
            login += "@"
        query = {
            "smtp": self.host,  # named, so apprise keeps it rather than guess from the sender
            "from": self.from_address,
            "name": self.from_name,
            "to": ",".join(self.to),
            "format": "text",  # else the text goes out as HTML and loses its line breaks
        }
        if self.security != "none":
            query["mode"] = self.security
        return SecretStr(f"{scheme}://{login}{self.host}:{self.port}?{urlencode(query)}")

    def block_initialization(self) -> None:
        self._start_apprise_client(self.apprise_url())
