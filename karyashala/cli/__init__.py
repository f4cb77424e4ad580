"""The `karyashala` command: runs the flows in this process and prints what they did.

One module per command group; this one builds the typer `app` (the console script
`karyashala.cli:app`) from them, in the order `karyashala --help` lists them.
"""

from config.errors import KaryashalaError
from karyashala.cli.common import print_error
from karyashala.prefect_env import apply_prefect_defaults

try:
    apply_prefect_defaults()  # before anything below imports Prefect
except KaryashalaError as error:  # a setting that cannot be used: no command can run
    print_error(str(error))
    raise SystemExit(2) from None

import typer

from karyashala.cli import (
    answers,
    demo,
    deploy,
    invite,
    outbox,
    press,
    replies,
    roster,
    rsvp,
    whatsapp,
)

app = typer.Typer(no_args_is_help=True, help="Run a party event's operations as Prefect flows.")
# Commands first, then the groups with subcommands; a typer added without a name adds its commands.
app.add_typer(invite.commands)
app.add_typer(whatsapp.commands)
app.add_typer(answers.commands)
app.add_typer(deploy.commands)
app.add_typer(outbox.commands)
app.add_typer(demo.commands)
app.add_typer(roster.roster_app, name="roster")
app.add_typer(rsvp.rsvp_app, name="rsvp")
app.add_typer(replies.replies_app, name="replies")
app.add_typer(press.press_app, name="press-note")
app.add_typer(deploy.secrets_app, name="secrets")
