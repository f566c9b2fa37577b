"""The user's settings: a TOML file in the platform's config directory (``DRP_CONFIG`` names
another), read with the standard library's ``tomllib`` and written with ``tomli-w``.

Keys (:data:`KEYS`): ``name`` (who records: ``DRP_USER`` and ``--by`` override it),
``protocol``, ``role`` and ``team`` (defaults for ``drp open``), ``database`` (used when
neither ``--db`` nor ``DRP_DB`` is given), ``authority`` (the council's name on documents)
and ``no_deadline_after`` (working days a stage may sit without a deadline before the
morning check shows it; 10); and the mail server e-mails are sent through (``smtp_host``,
``smtp_port``, ``smtp_starttls``, ``smtp_user``, ``smtp_password_file``, ``smtp_from``,
``alert_cc``): the password is never a setting, it comes from ``DRP_SMTP_PASSWORD`` or an
owner-only file (:mod:`drp_cli.render.mail`). A leaf module: no database, no typer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drp_cli.core.errors import DatabaseError as DataError
from drp_cli.core.errors import InvalidInput, fld
from drp_cli.core.files import write_private
from drp_cli.core.plainclass import Frozen, set_fields

#: What each key means, as ``drp config show`` lists them.
KEYS: dict[str, str] = {
    "name": "who you are: recorded with everything you record (DRP_USER and --by override it)",
    "protocol": "the protocol `drp open` uses when --protocol is not given",
    "role": "the role `drp open` uses when --role is not given",
    "team": "your team: given to the concerns you open, and what --team means by default",
    "database": "the database used when neither --db nor DRP_DB is given",
    "authority": "the authority's name on the documents drp writes (the alert form's header, "
    "the bundle's cover), e.g. Knowsley Council; for concerns under several protocols, "
    "one per protocol: knowsley=Knowsley Council; west-sussex=West Sussex County Council",
    "no_deadline_after": "working days a stage may sit with no deadline before the morning "
    "check shows it as no-deadline (default 10)",
    "smtp_host": "the mail server `drp alert --send` and `drp overdue --send` send through",
    "smtp_port": "its port (default 587 with STARTTLS, else 25)",
    "smtp_starttls": "yes (the default) or no: encrypt the connection with STARTTLS",
    "smtp_user": "the user to log in to the mail server as (no login when not set)",
    "smtp_password_file": "an owner-only (0600) file holding the mail password, when "
    "DRP_SMTP_PASSWORD is not set",
    "smtp_from": "the address e-mails are sent from (default: yours in the staff directory)",
    "alert_cc": "addresses every alert e-mail is copied to (e.g. IRO Business Support), "
    "separated by commas",
    "db_key_file": "the owner-only file holding the key of an encrypted SQLite database "
    "(drp init --encrypted); DRP_DB_KEY_FILE overrides it",
    "retention_years": "years after a concern is closed before `drp retention` lists it for "
    "disposal (the council's schedule: drp ships none; not set, nothing is ever due)",
    "retention_by_route": "years by route, replacing retention_years for concerns on it: "
    "route=YEARS pairs separated by semicolons",
    "retention_by_role": "years by role, replacing retention_years for concerns raised in it: "
    "role=YEARS pairs separated by semicolons",
}
#: Settings that are whole numbers, and those that are yes or no.
INT_KEYS = frozenset({"no_deadline_after", "smtp_port", "retention_years"})
BOOL_KEYS = frozenset({"smtp_starttls"})
#: working days a stage may sit with no deadline before the morning check shows it
NO_DEADLINE_AFTER = 10
MAX_NO_DEADLINE = 260  # a working year
#: The longest retention period drp takes (a child's record kept to the 75th birthday is
#: under 75 years after closure; 200 leaves room and catches a date typed as years).
MAX_YEARS = 200
#: Login names that are not a person: drp will not record as one of them.
SYSTEM_ACCOUNTS = frozenset({"root", "administrator", "admin", "system", "daemon", "nobody"})


def login_name() -> str | None:
    """The operating system's login name (``getpass.getuser``: LOGNAME, USER, LNAME,
    USERNAME, else the password database), or None where there is none, or where it is not
    UTF-8 text (a name of bytes no text holds: drp could neither store nor show it)."""
    import getpass

    from drp_cli.core.encoding import is_utf8

    try:
        name = getpass.getuser()
    except Exception:  # no login name in this environment
        return None
    return name if is_utf8(name) else None


def path() -> Path:
    """The config file: ``DRP_CONFIG``, else ``config.toml`` in the platform's config dir."""
    given = os.environ.get("DRP_CONFIG")
    if given is not None and given.strip():
        return Path(given).expanduser()
    from drp_cli.core.userdirs import user_dir

    return user_dir("config") / "config.toml"


class Config(Frozen):
    values: Mapping[str, Any]
    source: Path

    _fields = (
        "values",
        "source",
    )

    def __init__(
        self,
        values: Mapping[str, Any],
        source: Path,
    ) -> None:
        set_fields(
            self,
            values=values,
            source=source,
        )

    def get(self, key: str) -> Any:
        return self.values.get(key)

    @property
    def name(self) -> str | None:
        value = self.values.get("name")
        return value if isinstance(value, str) and value.strip() else None

    def authority(self, protocol: str) -> str | None:
        """The authority's name on the documents of a concern under ``protocol`` (a slug):
        the ``authority`` setting, one name for every protocol or ``slug=Name`` pairs
        separated by semicolons (a protocol not named has none); None when not set."""
        value = self.values.get("authority")
        if not isinstance(value, str) or not value.strip():
            return None
        pairs = authority_pairs(value)
        return value.strip() if pairs is None else pairs.get(protocol)

    @property
    def no_deadline_after(self) -> int:
        value = self.values.get("no_deadline_after", NO_DEADLINE_AFTER)
        return value if type(value) is int and 0 < value <= MAX_NO_DEADLINE else NO_DEADLINE_AFTER


def load() -> Config:
    """The settings (none when the file does not exist). A malformed file is an error that
    names the file, never a traceback."""
    where = path()
    try:
        raw = where.read_bytes()
    except FileNotFoundError:
        return Config({}, where)
    except OSError as exc:
        raise DataError(f"cannot read the config file {where}: {exc.strerror}") from None
    import tomllib  # only when there is a file to read: the morning check runs daily

    try:
        values = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"the config file {where} is not valid TOML: {exc}") from None
    known = {k: v for k, v in values.items() if k in KEYS}
    for k, v in known.items():
        wanted = int if k in INT_KEYS else bool if k in BOOL_KEYS else str
        if type(v) is not wanted:
            raise DataError(
                f"the config file {where}: {k} must be "
                + {int: "a whole number", bool: "true or false", str: "text"}[wanted]
                + f": set it with `drp config set {k} VALUE`"
            )
    return Config(known, where)


_SLUG_PATTERN = r"[a-z0-9][a-z0-9-]{0,63}"


def authority_pairs(value: str) -> dict[str, str] | None:
    """The ``authority`` setting's names by protocol when it is ``slug=Name`` pairs separated
    by semicolons; None when it is one name (no ``=`` in it)."""
    if "=" not in value:
        return None
    out: dict[str, str] = {}
    for part in value.split(";"):
        slug, _, name = part.partition("=")
        if part.strip():
            out[slug.strip()] = " ".join(name.split())
    return out


def check(key: str, value: str) -> Any:
    """A value for ``key`` as it will be stored (an integer for ``no_deadline_after``)."""
    if key not in KEYS:
        raise InvalidInput(f"{fld('key')} {key!r} is not a setting; settings: {', '.join(KEYS)}")
    if key == "no_deadline_after":
        digits = value.strip()
        if not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) <= MAX_NO_DEADLINE:
            raise InvalidInput(
                f"{fld('value')} for no_deadline_after is a number of working days, 1 to "
                f"{MAX_NO_DEADLINE}"
            )
        return int(digits)
    if key == "retention_years":
        digits = value.strip()
        if not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) <= MAX_YEARS:
            raise InvalidInput(
                f"{fld('value')} for retention_years is a whole number of years, 1 to {MAX_YEARS}"
            )
        return int(digits)
    if key in ("retention_by_route", "retention_by_role"):
        import re

        pair = r"\s*[a-z0-9][a-z0-9-]*\s*=\s*[0-9]{1,3}\s*"
        if not re.fullmatch(rf"{pair}(;{pair})*;?\s*", value) or any(
            not 1 <= int(n) <= MAX_YEARS for n in re.findall(r"=\s*([0-9]+)", value)
        ):
            raise InvalidInput(
                f"{fld('value')} for {key} is slug=YEARS pairs separated by semicolons, e.g. "
                f"child-protection=35; stage-2=20 (years 1 to {MAX_YEARS})"
            )
        return " ".join(value.split())
    if key == "smtp_port":
        digits = value.strip()
        if not (digits.isascii() and digits.isdigit()) or not 1 <= int(digits) <= 65535:
            raise InvalidInput(f"{fld('value')} for smtp_port is a port number, 1 to 65535")
        return int(digits)
    if key in BOOL_KEYS:
        answer = value.strip().lower()
        if answer not in ("yes", "no", "true", "false"):
            raise InvalidInput(f"{fld('value')} for {key} is yes or no")
        return answer in ("yes", "true")
    from drp_cli.core.textsafe import is_one_line

    cleaned = " ".join(value.split())
    if not cleaned:
        raise InvalidInput(f"{fld('value')} is empty")
    if not is_one_line(cleaned):  # control, separator or bidi characters: never stored
        raise InvalidInput(
            f"{fld('value')} must be one line without control, line-separator or bidi characters"
        )
    import re

    if key == "protocol" and not re.fullmatch(_SLUG_PATTERN, cleaned):
        raise InvalidInput(
            f"{fld('value')} for protocol is a protocol's slug (see `drp protocols`), such "
            "as west-sussex"
        )
    pairs = authority_pairs(cleaned) if key == "authority" else None
    if pairs is not None and (
        not pairs or any(not re.fullmatch(_SLUG_PATTERN, k) or not v for k, v in pairs.items())
    ):
        raise InvalidInput(
            f"{fld('value')} for authority is a name (Knowsley Council), or one per "
            "protocol: knowsley=Knowsley Council; west-sussex=West Sussex County Council"
        )
    if key == "name" and cleaned.lower() in SYSTEM_ACCOUNTS:
        raise InvalidInput(f"{fld('value')} {cleaned!r} is a system account, not a person's name")
    return cleaned


def save(key: str, value: str) -> Config:
    """Set one key and write the file (owner-only, replaced atomically)."""
    import tomli_w

    stored = check(key, value)
    current = load()
    values = {**current.values, key: stored}
    where = current.source
    try:
        write_private(where, tomli_w.dumps(values), make_parents=True)
    except OSError as exc:
        raise DataError(f"cannot write the config file {where}: {exc.strerror}") from None
    return Config(values, where)
