"""`python -m karyashala.cli`, as the tests run the command."""

from karyashala.cli import app

app(prog_name="karyashala")
