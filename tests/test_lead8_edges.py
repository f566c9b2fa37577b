"""Mends of sw8's findings at the edges: a busy database is SQLite's lock message or
PostgreSQL's lock error, never a word in a name; a password in a URL's query is never shown."""

from __future__ import annotations

import pytest

from drp_cli.core.errors import DatabaseBusy, DatabaseError
from drp_cli.store.connection import _hide_password
from drp_cli.store.dbfile import translate


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("database is locked", "OperationalError"),
        ("database table is locked: event", "OperationalError"),
        ("database schema is locked: main", "OperationalError"),
        ("canceling statement due to lock timeout", "LockNotAvailable"),
        ("deadlock detected", "DeadlockDetected"),
    ],
)
def test_a_lock_not_granted_is_busy(message, kind):
    found = translate(message, kind, "DB")
    assert isinstance(found, DatabaseBusy)
    assert str(found) == "the database DB is busy (another drp is writing); try again in a moment"


@pytest.mark.parametrize(
    "message",
    [
        'connection failed: FATAL:  database "busybox" does not exist',
        'connection failed: FATAL:  role "lockeduser" does not exist',
        "no such table: locked",
        "the database is busy elsewhere",
    ],
)
def test_a_word_in_another_message_is_not(message):
    found = translate(message, "OperationalError", "DB")
    assert type(found) is DatabaseError
    assert str(found) == "cannot use the database DB: OperationalError"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://u:pw@h/db", "postgresql+psycopg://u:***@h/db"),
        ("postgresql+psycopg://u@h/db?password=pw", "postgresql+psycopg://u@h/db?password=***"),
        (
            "postgresql+psycopg://u@/db?host=/run/pg&password=p%26w&sslmode=disable",
            "postgresql+psycopg://u@/db?host=/run/pg&password=***&sslmode=disable",
        ),
        (
            "postgresql+psycopg://u:a@h:5433/db?sslpassword=k&port=1",
            "postgresql+psycopg://u:***@h:5433/db?sslpassword=***&port=1",
        ),
        ("postgresql+psycopg://u@h/db?passfile=/p", "postgresql+psycopg://u@h/db?passfile=/p"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_a_password_is_never_shown(url, shown):
    assert _hide_password(url) == shown


@pytest.mark.parametrize(
    ("message", "reason"),
    [  # psycopg 3's messages, as a server not there, refusing, or refusing the role gives them
        (
            'connection is bad: connection to server on socket "/x/.s.PGSQL.5999" failed: No '
            "such file or directory\n\tIs the server running locally and accepting connections "
            "on that socket?",
            "No such file or directory; is the server running locally and accepting "
            "connections on that socket?",
        ),
        (
            'connection failed: connection to server at "127.0.0.1", port 5998 failed: '
            "Connection refused\n\tIs the server running on that host and accepting TCP/IP "
            "connections?",
            "Connection refused; is the server running on that host and accepting TCP/IP "
            "connections?",
        ),
        (
            'connection failed: connection to server on socket "/x/.s.PGSQL.5432" failed: '
            'FATAL:  role "nobody" does not exist',
            'role "nobody" does not exist',
        ),
        (
            "failed to resolve host 'db.invalid': [Errno -2] Name or service not known",
            "failed to resolve host 'db.invalid': [Errno -2] Name or service not known",
        ),
        ("connection timeout expired", "connection timeout expired"),
        ("", "no reason given"),
    ],
)
def test_why_libpq_could_not_connect_is_one_line(message, reason):
    from drp_cli.store.connection import libpq_reason

    assert libpq_reason(message) == reason
