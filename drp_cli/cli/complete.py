"""Shell completion: the values a shell offers for drp's arguments and options.

Each function here is an ``autocompletion=`` callback of a ``typer.Option`` or
``typer.Argument``: Typer passes the click context (the options already typed are in
``ctx.params``) and the word being completed, and offers the ``(value, help)`` pairs
returned whose value starts with that word (bash shows the values, zsh and fish the help
too).

* Completion never fails: no database, a database at another schema, a protocol file that
  does not load, anything else gives no candidates, and nothing is printed.
* Nothing heavy is imported until a value is completed: this module is imported with
  :mod:`drp_cli.cli.app` on every start.
* No personal data about a child is offered: a concern is offered by its id, with its
  protocol and stage as help, never its child's reference.
"""

# No `from __future__ import annotations`: Typer reads the signatures of the commands, their
# parameters' callbacks and completions with eval() of every annotation string on each run;
# evaluated at import, they come from the byte-compiled file (issue 32).

import functools
from collections.abc import Callable, Iterable

import typer

Candidates = list[tuple[str, str]]
Completer = Callable[[typer.Context, str], Candidates]


def _quietly(find: Callable[[typer.Context, str], Iterable[tuple[str, str]]]) -> Completer:
    """``find`` as a completion callback: the candidates starting with the word typed, or
    none at all if anything goes wrong."""

    @functools.wraps(find)
    def complete(ctx: typer.Context, incomplete: str) -> Candidates:
        try:
            return [(v, h) for v, h in find(ctx, incomplete) if v.startswith(incomplete)]
        except Exception:  # completion must never print a traceback into the shell
            return []

    return complete


def _given(ctx: typer.Context, name: str) -> str | None:
    """The value of option ``name`` already on the command line (or its default), if any."""
    value = ctx.params.get(name)
    return value if isinstance(value, str) and value else None


def _database(ctx: typer.Context, kind: str, prefix: str) -> Candidates:
    """Values read from the database given by ``--db`` / ``DRP_DB`` (or the default)."""
    from drp_cli.services.tracker import Tracker
    from drp_cli.store.connection import Store

    store = Store(ctx.find_root().params.get("db"))
    try:
        return Tracker(store).completion_values(kind, prefix)
    finally:
        store.close()


@_quietly
def concern_ids(ctx: typer.Context, incomplete: str) -> Candidates:
    """The ids of open concerns, each with its protocol and stage (never the child)."""
    return _database(ctx, "concern", incomplete)


@_quietly
def owners(ctx: typer.Context, incomplete: str) -> Candidates:
    """Who owns concerns, and the names in the staff directory."""
    return _database(ctx, "owner", incomplete)


@_quietly
def protocols(ctx: typer.Context, incomplete: str) -> Candidates:
    """The installed protocols' slugs, each with its title."""
    from drp_cli.domain.protocols import registry

    return [(slug, p.title) for slug, p in sorted(registry().protocols.items())]


@_quietly
def stages(ctx: typer.Context, incomplete: str) -> Candidates:
    """Stage slugs: of the protocol given with ``--protocol`` (each with its title), or of
    every installed protocol (each with the protocols that have it)."""
    from drp_cli.domain.protocols import registry

    reg = registry()
    chosen = _given(ctx, "protocol")
    if chosen is not None:
        return [(s.slug, s.title) for s in reg.get(chosen).stages]
    found: dict[str, list[str]] = {}
    for slug, p in sorted(reg.protocols.items()):
        for s in p.stages:
            found.setdefault(s.slug, []).append(slug)
    return [(stage, ", ".join(where)) for stage, where in found.items()]


@_quietly
def categories(ctx: typer.Context, incomplete: str) -> Candidates:
    """The themes a concern is categorised by, each with its title."""
    from drp_cli.domain.protocols import themes

    return [(t.slug, t.title) for t in themes().themes]


@_quietly
def issues(ctx: typer.Context, incomplete: str) -> Candidates:
    """The finer issues: within the theme given with ``--category``, or within every one."""
    from drp_cli.domain.protocols import themes

    chosen = _given(ctx, "category")
    found = themes().themes if chosen is None else [themes().theme(chosen)]
    return [(i.slug, i.text) for t in found for i in t.issues]


@_quietly
def routes(ctx: typer.Context, incomplete: str) -> Candidates:
    """The routes of the protocol given with ``--protocol`` (none without one)."""
    from drp_cli.domain.protocols import registry

    chosen = _given(ctx, "protocol")
    if chosen is None:
        return []
    return [(r.slug, r.title) for r in registry().get(chosen).routes]


@_quietly
def roles(ctx: typer.Context, incomplete: str) -> Candidates:
    """The roles of whoever raises a concern: those of ``--protocol``, or every role."""
    from drp_cli.domain.protocols import ROLES, registry

    chosen = _given(ctx, "protocol")
    allowed = registry().get(chosen).roles if chosen is not None else list(ROLES)
    return [(role, ROLES[role]) for role in allowed]


@_quietly
def statuses(ctx: typer.Context, incomplete: str) -> Candidates:
    """What ``drp list --status`` takes."""
    from drp_cli.services.tracker import STATUSES

    return [(s, "") for s in (*STATUSES, "all")]


@_quietly
def cafcass_steps(ctx: typer.Context, incomplete: str) -> Candidates:
    """The steps around a CAFCASS referral, each with what it records."""
    from drp_cli.services.tracker import CAFCASS_STEPS

    return list(CAFCASS_STEPS.items())


@_quietly
def bundle_items(ctx: typer.Context, incomplete: str) -> Candidates:
    """The items of the CAFCASS bundle, each with its title."""
    from drp_cli.domain.views import BUNDLE_ITEMS

    return list(BUNDLE_ITEMS.items())
