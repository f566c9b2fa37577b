"""Wiping the copies of removed text from the database (after a redaction or a purge).

A redaction or a purge is committed first; then :meth:`drp_cli.store.connection.Store.scrub`
rewrites the database so that no copy of the removed text is left in its free pages or
write-ahead log (SQLite: ``VACUUM`` with ``secure_delete``; PostgreSQL: ``VACUUM FULL``,
which must wait until no other session reads the tables). Where that wait ends busy (exit
5), the change is recorded but old copies may still be in the database: :func:`after` says
so, and ``drp db scrub`` (:func:`scrub`) finishes the rewrite later; running it again is
harmless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drp_cli.core.errors import DatabaseBusy

if TYPE_CHECKING:
    from drp_cli.store.connection import Store


def after(store: Store, done: str) -> None:
    """Scrub the database after ``done`` (what was committed, e.g. "the redaction") was
    recorded; a busy database is :class:`DatabaseBusy` (exit 5) saying what is recorded,
    what is left and how to finish, never "try again", which would be refused."""
    try:
        store.scrub()
    except DatabaseBusy:
        raise DatabaseBusy(
            f"{done} is recorded, but the database {store.label} is busy (another drp is "
            "using it), so copies of the removed text may still be in its free space: run "
            "`drp db scrub` when it is free"
        ) from None


def scrub(store: Store) -> None:
    """``drp db scrub``: rewrite the database so that no copy of redacted or purged text is
    left in it (what a redaction and a purge do as they end)."""
    store.require()
    store.scrub()
