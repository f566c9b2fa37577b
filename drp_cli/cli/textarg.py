"""Free text (summaries, notes, outcomes, reasons ...) without putting it on the command line,
where `ps` and the shell's history would keep it.

Every free-text option takes, besides the text itself:

* ``-``: read the text from standard input (``drp note 4 --text - < note.txt``, or type it and
  end with Ctrl-D);
* ``@FILE``: read it from FILE (UTF-8); ``@@...`` is the text ``@...`` itself, for text that
  really starts with ``@``;

and the commands with one main text option take ``--edit``: write that text in ``$EDITOR``
(default ``vi``) on a temporary file that only you can read, deleted afterwards.
"""

# No `from __future__ import annotations`: Typer reads the signatures of the commands, their
# parameters' callbacks and completions with eval() of every annotation string on each run;
# evaluated at import, they come from the byte-compiled file (issue 32).

import contextlib
import os
import sys
from typing import Annotated, Any

import typer

from drp_cli.core.errors import InvalidInput

#: More than any free text drp records (the library refuses long text with its own limit);
#: stops a mistaken ``@/dev/zero`` or a huge file from being read whole.
MAX_BYTES = 1_000_000
_STDIN_KEY = "drp_stdin_read_by"


def text_option(*decls: str, help: str) -> Any:
    """A ``typer.Option`` for free text that also takes ``-`` and ``@FILE``."""
    return typer.Option(
        *decls,
        help=f"{help} '-' reads it from standard input, @FILE from a file.",
        metavar="TEXT",
        callback=read_text,
    )


EditOption = Annotated[
    bool,
    typer.Option(
        "--edit",
        help="Write the main text in $EDITOR (default vi), in a private temporary file "
        "deleted afterwards.",
    ),
]


def _decode(data: bytes, source: str) -> str:
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"{source} is over {MAX_BYTES // 1_000_000} MB: too long for free text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{source} is not UTF-8 text") from None


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _read_stdin(option: str) -> str:
    if stdin_is_terminal():
        typer.echo(f"Type {option}, then Ctrl-D on a new line:", err=True)
    stream = sys.stdin
    buffer = getattr(stream, "buffer", None)
    data = buffer.read(MAX_BYTES + 1) if buffer is not None else stream.read().encode()
    return _decode(data, "standard input")


def _read_file(name: str) -> str:
    if not name:
        raise InvalidInput("@ must be followed by a file name (@FILE); write @@ for a text "
                           "that starts with @")  # fmt: skip
    try:
        with open(name, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {name}: {exc.strerror or type(exc).__name__}") from None
    return _decode(data, name)


def resolve(value: str, option: str, meta: dict[str, Any] | None = None) -> str:
    """The text meant by ``value``: standard input for ``-``, a file's text for ``@FILE``,
    ``@...`` for ``@@...``, else ``value`` itself. ``meta`` (the click context's) records
    which option read standard input, which can be read only once."""
    if value == "-":
        if meta is not None:
            first = meta.get(_STDIN_KEY)
            if first is not None:
                raise InvalidInput(
                    f"{first} and {option} both ask for standard input (-); give one of them "
                    "with @FILE"
                )
            meta[_STDIN_KEY] = option
        return _read_stdin(option)
    if value.startswith("@@"):
        return value[1:]
    if value.startswith("@"):
        return _read_file(value[1:])
    return value


def read_text(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
    """The click callback of every free-text option."""
    if not isinstance(value, str) or ctx.resilient_parsing:
        return value
    option = max(param.opts, key=len) if param.opts else f"--{param.name}"
    return resolve(value, option, ctx.meta)


def main_text(value: str | None, edit: bool, option: str, *, required: bool) -> str:
    """A command's main text: given (already resolved by :func:`read_text`), or written in
    the editor with ``--edit``; a required one that is neither is refused."""
    if edit:
        if value:
            raise InvalidInput(f"give {option} or --edit, not both")
        return edit_text(option)
    if value is None:
        if required:
            raise InvalidInput(
                f"{option} is required: give {option} TEXT, {option} - (standard input), "
                f"{option} @FILE, or --edit"
            )
        return ""
    return value


def edit_text(option: str) -> str:
    """Open ``$EDITOR`` (default ``vi``) on an empty owner-only temporary file and return
    what was written; the file is deleted whatever happens."""
    import shlex
    import subprocess
    import tempfile

    if not stdin_is_terminal():
        raise InvalidInput(f"--edit needs a terminal; use {option} - to read standard input")
    editor = os.environ.get("EDITOR") or "vi"
    try:
        command = shlex.split(editor)
    except ValueError:
        command = []
    if not command:
        raise InvalidInput(f"EDITOR is not a command; set EDITOR, or use {option} @FILE")
    runtime = os.environ.get("XDG_RUNTIME_DIR")  # a per-user tmpfs, where there is one
    folder = runtime if runtime and os.path.isdir(runtime) else None
    fd, path = tempfile.mkstemp(prefix=f"drp-{option.lstrip('-')}-", suffix=".txt", dir=folder)
    try:
        os.close(fd)
        os.chmod(path, 0o600)
        try:
            done = subprocess.run([*command, path], check=False)
        except OSError as exc:
            raise InvalidInput(
                f"cannot run the editor {command[0]}: {exc.strerror or type(exc).__name__}"
            ) from None
        if done.returncode != 0:
            raise InvalidInput(
                f"the editor exited with status {done.returncode}; nothing was recorded"
            )
        with open(path, "rb") as f:
            return _decode(f.read(MAX_BYTES + 1), "the edited text")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
