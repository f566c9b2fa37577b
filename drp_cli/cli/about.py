"""``drp version``: the same as ``drp --version``."""

from __future__ import annotations

import typer

from drp_cli.cli.app import command_group, examples, version_text

commands = command_group()


@commands.command(epilog=examples("drp version"))
def version() -> None:
    """Show drp's version (the same as `drp --version`)."""
    typer.echo(version_text())
