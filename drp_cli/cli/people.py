"""Who you are and who your colleagues are: the config file and the staff directory."""

from __future__ import annotations

from typing import Annotated

import typer

from drp_cli.cli.app import ByOption, JsonOption, command_group, examples, tracker
from drp_cli.cli.output import plain_table, print_json

commands = command_group()

staff_app = command_group(
    help="The staff directory: who concerns are owned by and handed to.",
    no_args_is_help=True,
    epilog=examples('drp staff add "Priya Shah" --team "IRO North" --role iro', "drp staff list"),
)
commands.add_typer(staff_app, name="staff")
config_app = command_group(
    help="Your settings: your name, default protocol, role, team, database.",
    no_args_is_help=True,
    epilog=examples('drp config set name "Sam Patel"', "drp config show"),
)
commands.add_typer(config_app, name="config")


@staff_app.command(
    "add", epilog=examples('drp staff add "Priya Shah" --team "IRO Team North" --role iro')
)
def staff_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Their name, as it should appear on records.")],
    email: Annotated[str | None, typer.Option(help="Their work email.")] = None,
    team: Annotated[str | None, typer.Option(help="Their team.")] = None,
    role: Annotated[
        str | None,
        typer.Option(help="iro, cp-chair, fostering-iro, manager, business-support or other."),
    ] = None,
    by: ByOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a colleague to the staff directory.

    Once the directory has names, `drp assign --to` and `--owner` take only those (in any
    case), and suggest the closest for a name it does not know.
    """
    from drp_cli.services import staff

    person = staff.add(tracker(ctx), name, email=email, team=team, role=role, by=by)
    if as_json:
        print_json(person.to_dict())
    else:
        typer.echo(f"Added {person.name} to the staff directory.")


@staff_app.command("list", epilog=examples("drp staff list --json"))
def staff_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the staff directory."""
    from drp_cli.services import staff

    people = staff.directory(tracker(ctx))
    if as_json:
        print_json([p.to_dict() for p in people])
    elif not people:
        typer.echo("The staff directory is empty: add colleagues with `drp staff add`.")
    else:
        rows = [[p.name, p.team or "", p.role or "", p.email or ""] for p in people]
        plain_table(["Name", "Team", "Role", "Email"], rows)


@config_app.command("show", epilog=examples("drp config show"))
def config_show(as_json: JsonOption = False) -> None:
    """Show your settings and the file they are in."""
    from drp_cli.core import config

    settings = config.load()
    if as_json:
        print_json({"file": str(settings.source), **{k: settings.get(k) for k in config.KEYS}})
        return
    typer.echo(f"Settings in {settings.source}:")
    for key, meaning in config.KEYS.items():
        value = settings.get(key)
        typer.echo(f"  {key} = {value if value is not None else '(not set)'}    # {meaning}")


@config_app.command(
    "set",
    epilog=examples(
        'drp config set name "Sam Patel"',
        "drp config set smtp_host smtp.example.org",
        "drp config set smtp_password_file ~/.config/drp/smtp-password",
    ),
)
def config_set(
    key: Annotated[
        str,
        typer.Argument(
            help="name, protocol, role, team, database, no_deadline_after, alert_cc or a mail "
            "server setting (smtp_host, smtp_port, smtp_starttls, smtp_user, "
            "smtp_password_file, smtp_from).",
            metavar="KEY",
        ),
    ],
    value: Annotated[str, typer.Argument(help="Its value.", metavar="VALUE")],
) -> None:
    """Set one of your settings (written owner-only to your config file)."""
    from drp_cli.core import config

    settings = config.save(key, value)
    typer.echo(f"Set {key} in {settings.source}.")
