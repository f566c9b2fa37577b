"""Whether what drp was given is UTF-8 text: the command line's arguments and the DRP_*
variables, which Python decodes with surrogate escapes. The one rule, read by the Typer app
(which refuses them) and by ``drp COMMAND --help`` from its file (which then leaves the
refusal to the app); it imports nothing, so that the second stays light."""

from __future__ import annotations

import os


def _bad(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def is_utf8(text: str) -> bool:
    """Whether ``text`` (as Python decoded it from the system) is valid UTF-8 text."""
    return not _bad(text)


def not_utf8(args: list[str]) -> str | None:
    """What is not valid UTF-8 among the arguments and DRP_* variables, or None."""
    if any(_bad(a) for a in args):
        return "an argument is not valid UTF-8 text"
    for name in sorted(os.environ):
        if name.startswith("DRP_") and _bad(os.environ[name]):
            return f"{name} is not valid UTF-8 text"
    return None
