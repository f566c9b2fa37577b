"""The store's queries the everyday morning check needs, and nothing heavier.

``drp overdue`` runs every morning, often from cron: it reads the open concerns whose
deadlines fall by the horizon, the outstanding actions, and the local closure days, through
the status and deadline indexes, after checking those indexes against the concern rows.
This module imports only the connection and the calendar, so the check does not load the
fold, the hash chain or the protocols (:mod:`drp_cli.store.record` holds the rest of the
queries and re-exports these).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from drp_cli.core.errors import DatabaseDamaged
from drp_cli.domain.calendar import WorkingCalendar, closures_in_force
from drp_cli.domain.judgement import RANK
from drp_cli.store.connection import DAYS, Conn, MalformedValue, Row, stored_object

CHAIN_ORDER = "ORDER BY chain_seq IS NULL, chain_seq, id"


def has_concerns(conn: Conn) -> bool:
    return bool(conn.rows("SELECT 1 FROM concern LIMIT 1"))


def requests_waiting(conn: Conn) -> bool:
    """Whether any subject access request is waiting for its answer (the rows
    :func:`drp_cli.store.sarsql.open_requests` reads, before any filter): the morning check
    loads the requests' modules only when one is."""
    return bool(conn.rows("SELECT 1 FROM subject_access_request WHERE sent_on IS NULL LIMIT 1"))


def recorded_a_waiting_request(conn: Conn, name: str) -> bool:
    """Whether ``name`` (whatever the case) recorded a subject access request still waiting
    for its answer: an owner filter naming them is no misspelling, even with no concern."""
    return bool(conn.rows("SELECT 1 FROM subject_access_request WHERE sent_on IS NULL AND "
                          "lower(recorded_by) = lower(?) LIMIT 1", (name,)))  # fmt: skip


def closure_changes(conn: Conn) -> list[Row]:
    """Every change of the local closure days, in the order of the chain."""
    return conn.records(f"SELECT * FROM closure_change {CHAIN_ORDER}")


def calendar(conn: Conn) -> WorkingCalendar:
    """The working-day calendar with the local closure days in force."""
    return WorkingCalendar(closures_in_force(
        conn.rows(f"SELECT day, action FROM closure_change {CHAIN_ORDER}")))  # fmt: skip


_COLUMN_LIST = (
    "id", "child", "protocol", "stage", "deadline", "formal_deadline", "stage_responded_on",
    "deadline_kind", "formal_deadline_kind", "step", "step_deadline", "step_deadline_kind",
    "stage_started_on", "summary", "owner", "team", "route",
)  # fmt: skip
_COLUMN_NAMES = ", ".join(_COLUMN_LIST)
#: the concern's text columns the morning check reads, and those of them drp may leave NULL
_TEXT_COLUMNS = ("child", "protocol", "stage", "step", "summary", "owner", "team", "route")
_NULLABLE_TEXTS = ("step", "owner", "team", "route")


def _text_positions(columns: Sequence[str]) -> tuple[tuple[int, str, bool], ...]:
    """(position, column, whether it may be NULL) of each text column among ``columns``."""
    return tuple((columns.index(c), c, c in _NULLABLE_TEXTS)
                 for c in _TEXT_COLUMNS if c in columns)  # fmt: skip


#: the text columns of :data:`_COLUMN_LIST`
_TEXTS = _text_positions(_COLUMN_LIST)
_OVERDUE_COLUMNS = f"SELECT {_COLUMN_NAMES} FROM concern WHERE status = 'open' AND "
#: the concern columns the morning check and the list match whatever the case: lower() on
#: both sides of the comparison, the same SQL on both engines
TEXT_FILTERS = ("owner", "team", "raised_by")


def folded_filters(names: Sequence[str], alias: str = "") -> list[str]:
    """``lower(column) = lower(?)`` for each of ``names`` (of :data:`TEXT_FILTERS`)."""
    for name in names:
        if name not in TEXT_FILTERS:
            raise ValueError(f"cannot filter concerns on {name!r} whatever the case")
    return [f"lower({alias}{name}) = lower(?)" for name in names]


def overdue_sql(filters: Sequence[str] = (), *, sqlite: bool = False) -> str:
    """The morning check's search: one indexed search per deadline, and one for the stages
    with no deadline (the (status, deadline) index finds ``deadline IS NULL``), joined by
    UNION (a four-way OR makes SQLite scan every open concern); each with the
    :data:`TEXT_FILTERS` named in ``filters``. Parameters: the horizon three times and the
    latest day a stage with no deadline began, each followed by the filters' values.
    ``sqlite``: the last search names that index (:data:`_NO_DEADLINE_INDEX`), which SQLite
    would otherwise pass over for the step deadline's, reading the row of every open
    concern with no step deadline (nearly all of them) to find the few with no deadline."""
    extra = "".join(f" AND {c}" for c in folded_filters(filters))
    searches = [f"{name} <= ?" for name in ("deadline", "formal_deadline", "step_deadline")]
    searches.append("deadline IS NULL AND step_deadline IS NULL AND stage_started_on <= ?")
    columns = [_OVERDUE_COLUMNS] * 4
    if sqlite:
        columns[3] = columns[3].replace(" FROM concern ", f" FROM concern {_NO_DEADLINE_INDEX} ")
    return " UNION ".join(c + search + extra for c, search in zip(columns, searches, strict=True))


#: The index SQLite is told to find the open concerns with no deadline through.
_NO_DEADLINE_INDEX = "INDEXED BY ix_concern_status_deadline"


OVERDUE_SQL = overdue_sql()


def overdue_rows(
    conn: Conn, horizon: dt.date, stale_before: dt.date, filters: Mapping[str, str] | None = None
) -> list[tuple[Any, ...]]:
    """Open concerns whose stage, step or formal deadline falls on or before ``horizon``,
    or whose stage has no deadline and began on or before ``stale_before``, through the
    status-and-deadline indexes, filtered on ``filters`` (:data:`TEXT_FILTERS`, case
    folded): the columns :func:`drp_cli.domain.overdue.overdue_items` reads, each day as ISO
    text. Raises :class:`DatabaseDamaged` first if those indexes do not match the concern
    rows (:func:`check_indexes`)."""
    filters = dict(filters or {})
    names = [n for n in TEXT_FILTERS if n in filters]
    values = [filters[n] for n in names]
    if conn.is_sqlite and _PACKING and not names:
        # the index test made with the search (_packed_rows' ``fused``): only where it finds
        # everything sound; anything else is read again the long way, and named by it
        found = _packed_rows(conn, names, values, horizon, stale_before, fused=True)
        if found is not None:
            return found
    check_indexes(conn)  # never an all-clear read through a damaged index
    if conn.is_sqlite and _PACKING:
        found = _packed_rows(conn, names, values, horizon, stale_before)
        if found is not None:
            return found
    params = [p for bound in (horizon, horizon, horizon, stale_before) for p in (bound, *values)]
    rows = conn.rows(overdue_rows_sql(names, sqlite=conn.is_sqlite), params)
    for at, column in _KIND_COLUMNS:  # a kind drp never writes is an error, never a guess
        if not set(map(itemgetter(at), rows)) <= RANK.keys():
            bad = next(row for row in rows if row[at] not in RANK)
            raise MalformedValue(f"concern {bad[0]}", "concern", column)
    if conn.is_sqlite:  # a PostgreSQL text column holds text
        _texts_checked(rows, _TEXTS)
    return _days_as_text(rows, conn.is_sqlite)


#: Whether this SQLite has ``json_array`` built in (3.38 and later): :func:`_packed_rows`
_PACKING = sqlite3.sqlite_version_info >= (3, 38)
#: The columns of :data:`_COLUMN_LIST` that repeat from concern to concern (the protocol,
#: stage, kinds, step, owner, team and route), which :func:`_packed_rows` reads as one
#: JSON text, and the rest, read one by one (each day as its stored text)
_PACKED = ("protocol", "stage", "deadline_kind", "formal_deadline_kind", "step",
           "step_deadline_kind", "owner", "team", "route")  # fmt: skip
_OWN = ("id", "child", "summary", "+deadline", "+formal_deadline", "+stage_responded_on",
        "+step_deadline", "+stage_started_on")  # fmt: skip
_OWN_TEXTS = tuple(t for t in _TEXTS if t[1] in ("child", "summary"))
_PACKED_SELECT = f"SELECT {', '.join(_OWN)}, json_array({', '.join(_PACKED)}) FROM concern"


def packed_sql(filters: Sequence[str] = ()) -> list[str]:
    """SQLite: :func:`overdue_sql`'s four searches, each its own query reading its rows
    through its index (no UNION: its ids would be sorted into a temporary table twice), each
    row as the columns of :data:`_OWN` and one JSON array of the columns of :data:`_PACKED`.
    Parameters of each: its bound, then the filters' values."""
    extra = "".join(f" AND {c}" for c in folded_filters(filters))
    searches = [f"{name} <= ?" for name in ("deadline", "formal_deadline", "step_deadline")]
    searches.append("deadline IS NULL AND step_deadline IS NULL AND stage_started_on <= ?")
    hints = ["", "", "", f" {_NO_DEADLINE_INDEX}"]
    return [f"{_PACKED_SELECT}{hint} WHERE status = 'open' AND {search}{extra}"
            for hint, search in zip(hints, searches, strict=True)]  # fmt: skip


#: :func:`packed_sql`'s first search read through its index beside each entry's row (by
#: rowid), only the entries that match their row (open, the same deadline): the search for
#: :func:`_packed_rows` ``fused``
_FUSED_FIRST = (
    f"SELECT {', '.join('+t.' + c[1:] if c[0] == '+' else 't.' + c for c in _OWN)}, "
    f"json_array({', '.join('t.' + c for c in _PACKED)}) "
    "FROM concern AS i INDEXED BY ix_concern_status_deadline "
    "JOIN concern AS t NOT INDEXED ON t.id = i.id "
    "WHERE i.status = 'open' AND i.deadline <= ? AND t.status = 'open' "
    "AND t.deadline IS i.deadline"
)


def _rest_sql() -> str:
    """:func:`_pairs_sql` of the stage deadline's index for its open entries the first
    search does not read (a deadline after the horizon, or none): two rows, one a range."""
    whole = _pairs_sql("deadline", "ix_concern_status_deadline")
    return f"{whole} AND i.deadline > ? UNION ALL {whole} AND i.deadline IS NULL"


#: The open entries of the stage deadline's index on or before the horizon (covering)
_FIRST_COUNT = ("SELECT count(*) FROM concern INDEXED BY ix_concern_status_deadline "
                "WHERE status = 'open' AND deadline <= ?")  # fmt: skip


def _id_sum(ids: Iterable[int]) -> int | None:
    """:func:`_pairs_sql`'s sum over ``ids``, as SQLite works it out (None where an id is
    past what its integers hold unrounded: the caller then goes the long way)."""
    total = 0
    for i in ids:
        if not 0 <= i < 3_400_000_000:  # (i * 40503) * 65521 stays below 2**63
            return None
        total += ((i * 40503) * (i % 65521 + 1)) % 4294967291
    return total


def _shaped(value: object) -> bool:
    """Whether ``value`` is of the shape drp writes a day in (:data:`_SHAPED`)."""
    return (isinstance(value, str) and len(value) == 10 and value.isascii()
            and value[4] == "-" == value[7]
            and (value[:4] + value[5:7] + value[8:]).isdigit())  # fmt: skip


def _fused_sound(conn: Conn, first: list[tuple[Any, ...]], horizon: dt.date) -> bool:
    """Whether :func:`check_indexes` would find nothing, from what the first search read
    (``first``: the stage deadline's index entries on or before ``horizon`` that match their
    rows, each with its row) and the rest: :func:`_scan_indexes`' test, the stage deadline's
    index in two parts. Its entries on or before the horizon: as many as matched (the count
    of the index's range), their ids' sum from ``first``, their deadlines of drp's shape;
    its other entries compared with their rows by :func:`_rest_sql`; the other two indexes by
    :data:`_PAIRS` as ever; the three holding as many entries over the same ids; and
    :func:`unreadable_deadline` finding nothing. False at anything else, including a day of
    another shape (the long way names it)."""
    counted = conn.one(_FIRST_COUNT, (horizon,))
    ids = _id_sum(row[0] for row in first)
    if counted is None or counted[0] != len(first) or ids is None:
        return False
    if not all(map(_shaped, {row[3] for row in first})):
        return False
    entries, matched = len(first), len(first)
    for part in conn.rows(_rest_sql(), (horizon,)):
        if part[3] is not None:  # a deadline of another shape
            return False
        entries, matched, ids = entries + part[0], matched + part[1], ids + (part[2] or 0)
    if matched != entries:
        return False
    for sql in _PAIRS[1:]:
        found = conn.one(sql)
        if found is None or found[3] is not None or found[1] != found[0]:
            return False
        if (found[0], found[2] or 0) != (entries, ids):
            return False
    return unreadable_deadline(conn) is None


def _packed_rows(
    conn: Conn, names: Sequence[str], values: Sequence[str], horizon: dt.date,
    stale_before: dt.date, *, fused: bool = False,
) -> list[tuple[Any, ...]] | None:  # fmt: skip
    """SQLite: :func:`overdue_rows`'s rows (in :data:`_COLUMN_LIST`'s order), read by
    :func:`packed_sql`'s four searches, each concern once (the first search to find it),
    in the order they find them (the check orders its lines itself); what repeats from
    row to row (:data:`_PACKED`) is read as one text and decoded once for each distinct
    one. None where a value cannot be packed (a BLOB, a
    number where drp writes text): :func:`overdue_rows` then reads the rows column by
    column, and says what it says of them.

    ``fused`` (no filters): the first search reads its index's entries beside their rows,
    and the damaged-index test (:func:`check_indexes`) is made with what it read
    (:func:`_fused_sound`), where its own test would read each entry's row again; None
    unless that finds everything sound (the caller then tests the indexes the long way,
    which names what is wrong)."""
    import json

    found: dict[int, tuple[Any, ...]] = {}
    searches = packed_sql(names)
    if fused:
        searches[0] = _FUSED_FIRST
    try:
        for n, (sql, bound) in enumerate(zip(searches, (horizon, horizon, horizon,
                                                        stale_before), strict=True)):  # fmt: skip
            rows = conn.rows(sql, (bound, *values))
            if n == 0 and fused and not _fused_sound(conn, rows, horizon):
                return None
            for row in rows:
                found.setdefault(row[0], row)
    except sqlite3.OperationalError:  # json_array refuses a BLOB
        return None
    shared: dict[str, tuple[Any, ...]] = {}
    for packed in set(map(itemgetter(8), found.values())):
        cells = json.loads(packed)
        if any(c is not None and type(c) is not str for c in cells):
            return None  # a stored number: read as the driver reads it
        shared[packed] = tuple(cells)
    rows = []
    for (cid, child, summary, deadline, formal, responded, step_deadline, started,
         packed) in found.values():  # fmt: skip
        (protocol, stage, kind, formal_kind, step, step_kind, owner, team,
         route) = shared[packed]  # fmt: skip
        rows.append((cid, child, protocol, stage, deadline, formal, responded, kind,
                     formal_kind, step, step_deadline, step_kind, started, summary, owner,
                     team, route))  # fmt: skip
    for at, column in _KIND_COLUMNS:  # a kind drp never writes is an error, never a guess
        if not {s[_PACKED.index(column)] for s in shared.values()} <= RANK.keys():
            bad = min(row[0] for row in rows if row[at] not in RANK)
            raise MalformedValue(f"concern {bad}", "concern", column)
    _texts_checked(rows, _OWN_TEXTS)  # the shared ones are text: checked as they were decoded
    return _days_as_text(rows, True)


def _texts_checked(rows: list[tuple[Any, ...]], texts: Sequence[tuple[int, str, bool]]) -> None:
    """:class:`MalformedValue` naming the lowest id whose row holds, in one of ``texts``
    (:data:`_TEXTS`), what is not text (SQLite keeps whatever it is given: a BLOB, a number)
    or is NULL where drp always writes one: the lines would otherwise end in an internal
    error, half printed."""
    for at, column, nullable in texts:
        if not nullable:
            try:
                "".join(map(itemgetter(at), rows))  # a TypeError at anything but text
                continue
            except TypeError:
                pass
        elif set(map(type, map(itemgetter(at), rows))) <= {str, type(None)}:
            continue
        bad = min(row[0] for row in rows if not (type(row[at]) is str
                                                   or (nullable and row[at] is None)))  # fmt: skip
        raise MalformedValue(f"concern {bad}", "concern", column)


def overdue_rows_sql(filters: Sequence[str] = (), *, sqlite: bool = False) -> str:
    """What :func:`overdue_rows` runs: the concerns :func:`overdue_sql`'s four searches find
    (each search reading its index for the ids alone, the ids made distinct), each row read
    once by its id; on SQLite each day as its stored text (``+column``: no converter runs,
    :func:`_days_as_text` reads each distinct one once). Parameters as ``overdue_sql``'s."""
    ids = overdue_sql(filters, sqlite=sqlite).replace(_OVERDUE_COLUMNS, "SELECT id FROM concern "
                                                      "WHERE status = 'open' AND ")  # fmt: skip
    ids = ids.replace(
        f"SELECT {_COLUMN_NAMES} FROM concern {_NO_DEADLINE_INDEX} WHERE ",
        f"SELECT id FROM concern {_NO_DEADLINE_INDEX} WHERE ",
    )
    columns = ", ".join(f"+{c}" if sqlite and c in _DAY_COLUMNS else c for c in _COLUMN_LIST)
    return f"SELECT {columns} FROM concern WHERE id IN ({ids})"


#: The columns of :data:`_OVERDUE_COLUMNS` that hold a day, where they are
_DAY_COLUMNS = ("deadline", "formal_deadline", "stage_responded_on", "step_deadline",
                "stage_started_on")  # fmt: skip
_DAY_AT = tuple(_COLUMN_LIST.index(c) for c in _DAY_COLUMNS)


def day_text(value: Any, sqlite: bool) -> str:
    """A stored day's ISO text, read as the whole read reads it (SQLite: the converter of
    the ``DATE`` type; PostgreSQL: the driver's date): ValueError (or OverflowError,
    UnicodeDecodeError) if it is no day. For the reads that keep days as text (the morning
    check's, list's table's) and read each distinct one once."""
    if not sqlite:  # the driver's loader made (and checked) the date
        if isinstance(value, dt.date):
            return value.isoformat()
        raise ValueError("not a date")
    return read_day(value).isoformat()


def read_day(value: Any) -> dt.date:
    """A day SQLite holds, read by the converter every read of a ``DATE`` column uses, given
    what SQLite gives a converter (a text's UTF-8, a blob's own bytes, a number as text):
    ValueError (or OverflowError) if it is no day."""
    if isinstance(value, str):
        raw = value.encode()
    elif isinstance(value, bytes):
        raw = value
    elif isinstance(value, int | float):
        raw = str(value).encode()
    else:
        raise ValueError("not a date")
    day: dt.date = sqlite3.converters["DATE"](raw)
    return day


def _days_as_text(rows: list[tuple[Any, ...]], sqlite: bool) -> list[tuple[Any, ...]]:
    """``rows`` with each day as ISO text, each distinct stored value read once as the
    whole read reads it (SQLite: the converter of the ``DATE`` type; PostgreSQL: the
    driver's date), or :class:`MalformedValue` naming the first concern holding one that
    is no day, and the column."""
    changed: list[tuple[int, dict[Any, str]]] = []
    for at in _DAY_AT:
        texts: dict[Any, str] = {}
        values = set(map(itemgetter(at), rows))
        values.discard(None)
        for value in values:
            try:
                texts[value] = day_text(value, sqlite)
            except (ValueError, OverflowError, UnicodeDecodeError):
                bad = min(row[0] for row in rows if row[at] == value)
                raise MalformedValue(f"concern {bad}", "concern", _COLUMN_LIST[at]) from None
        if any(text != value for value, text in texts.items()):
            changed.append((at, texts))
    if not changed:
        return rows
    out = []
    for row in rows:  # a day stored in another form drp reads (2025-03-10 00:00:00)
        cells = list(row)
        for at, texts in changed:
            if cells[at] is not None:
                cells[at] = texts[cells[at]]
        out.append(tuple(cells))
    return out


#: Where :data:`_OVERDUE_COLUMNS` has each deadline's kind (firm, aim, guidance; None for
#: a row written before kinds existed), which the judgement reads.
_KIND_COLUMNS = ((7, "deadline_kind"), (8, "formal_deadline_kind"), (11, "step_deadline_kind"))


#: The indexes the morning check's search goes through, each with the deadline it orders
#: (each also finds the open concerns with that deadline missing).
CHECK_INDEXES = (
    ("deadline", "ix_concern_status_deadline"),
    ("formal_deadline", "ix_concern_status_formal_deadline"),
    ("step_deadline", "ix_concern_status_step_deadline"),
)


def _fingerprint(column: str) -> str:
    """How many rows, and a sum that moves if any row's id or ``column`` (a date) changes,
    or the two are paired differently: integers only, so the order the rows are read in
    cannot change it."""
    day = f"coalesce(CAST(replace({column}, '-', '') AS INTEGER), 0)"
    return f"count(*), sum(((id * 40503 + {day}) * (id % 65521 + 1)) % 4294967291)"


#: A stored deadline of the shape drp writes (ISO, ten characters): one of another shape
#: (2026-12-8, 2026-W50-2, 'soon') can sort before or after the day the search is for, and
#: would never be read.
_SHAPED = "{c} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"  # the whole value


def _pairs_sql(column: str, index: str) -> str:
    """One index's open entries, each beside its concern row (found by rowid, no index):
    how many; how many match their row (open, the same ``column``); a sum over their ids
    (integer arithmetic only: the order the rows are read in cannot change it); and the
    first entry whose ``column`` is not of the shape drp writes (:data:`_SHAPED`)."""
    shaped = _SHAPED.format(c=f"i.{column}")
    return (
        f"SELECT count(*), coalesce(sum(t.status = 'open' AND t.{column} IS i.{column}), 0), "
        "sum(((i.id * 40503) * (i.id % 65521 + 1)) % 4294967291), "
        f"min(CASE WHEN i.{column} IS NOT NULL AND NOT ({shaped}) THEN i.id END) "
        f"FROM concern AS i INDEXED BY {index} "
        "LEFT JOIN concern AS t NOT INDEXED ON t.id = i.id WHERE i.status = 'open'"
    )


_PAIRS = tuple(_pairs_sql(column, index) for column, index in CHECK_INDEXES)


def _scan_indexes(conn: Conn) -> tuple[str | None, tuple[int, str] | None]:
    """SQLite: what :func:`_scan_all` finds, by the cheaper test first: each index's open
    entries compared one by one with their concern rows (:func:`_pairs_sql`), the three
    indexes holding as many entries over the same ids. Where every entry matches its row
    and the three agree, :func:`_scan_all` would find every fingerprint equal (the rows it
    reads are those entries' rows): no index is damaged, and what it would say of the
    deadlines' shape is what the entries say. Anything else (an entry without its row, or
    with another deadline, an index holding more or other ids) is left to :func:`_scan_all`
    to name, so what the check reports is the same whichever way it is found. The test
    reads each index once and each of its entries' rows by rowid, with no string arithmetic:
    at 1,000 open concerns a third of what the fingerprints cost. PostgreSQL: (None,
    None), as :func:`_scan_all`."""
    if not conn.is_sqlite:
        return None, None
    misshapen: tuple[int, str] | None = None
    seen: tuple[object, object] | None = None
    for sql, (column, _) in zip(_PAIRS, CHECK_INDEXES, strict=True):
        found = conn.one(sql)
        assert found is not None
        entries, matched, ids, shape = found
        if matched != entries or (seen is not None and (entries, ids) != seen):
            return _scan_all(conn)
        seen = (entries, ids)
        if shape is not None and misshapen is None:
            misshapen = (int(shape), column)
    return None, misshapen


def _scan_all(conn: Conn) -> tuple[str | None, tuple[int, str] | None]:
    """SQLite: the first of :data:`CHECK_INDEXES` whose open concerns (ids and deadline)
    differ from the concern rows themselves, or None; and the first open concern whose
    deadline in one of them is not of the shape drp writes (:data:`_SHAPED`): (its id, the
    column), or None. A damaged index page can drop an entry, or change its key, without
    SQLite noticing (``PRAGMA quick_check`` does not compare an index with its table;
    ``integrity_check`` does, but reads the whole file): the morning check would then miss
    the concern and say nothing is overdue. This reads each index's open entries (covering,
    no table row: the shape is judged in the same pass) and the table rows of every id any
    of them lists (by rowid): a cost in proportion to the open concerns, not to the file.
    PostgreSQL: (None, None) (its indexes are the server's to keep, see
    :func:`integrity_check`; its dates are dates)."""
    if not conn.is_sqlite:
        return None, None
    listed = " UNION ".join(
        f"SELECT id FROM concern INDEXED BY {index} WHERE status = 'open'"
        for _, index in CHECK_INDEXES
    )
    table = conn.one(
        f"SELECT {', '.join(_fingerprint(c) for c, _ in CHECK_INDEXES)} FROM concern "
        f"NOT INDEXED WHERE id IN ({listed}) AND status = 'open'"
    )
    assert table is not None
    misshapen: tuple[int, str] | None = None
    for n, (column, index) in enumerate(CHECK_INDEXES):
        shaped = _SHAPED.format(c=column)
        own = conn.one(
            f"SELECT {_fingerprint(column)}, min(CASE WHEN {column} IS NOT NULL AND NOT "
            f"({shaped}) THEN id END) FROM concern INDEXED BY {index} WHERE status = 'open'"
        )
        assert own is not None
        if own[:2] != table[2 * n : 2 * n + 2]:
            return index, None
        if own[2] is not None and misshapen is None:
            misshapen = (int(own[2]), column)
    return None, misshapen


def damaged_index(conn: Conn) -> str | None:
    """SQLite: the first of :data:`CHECK_INDEXES` whose open concerns (ids and deadline)
    differ from the concern rows themselves, or None (see :func:`_scan_indexes`)."""
    return _scan_indexes(conn)[0]


def check_indexes(conn: Conn) -> None:
    """Raise :class:`DatabaseDamaged` if :func:`damaged_index` finds one, or
    :class:`MalformedValue` if an open concern's deadline is not of the shape drp writes
    (:func:`_scan_indexes`) or :func:`unreadable_deadline` finds one."""
    index, found = _scan_indexes(conn)
    if index is not None:
        raise DatabaseDamaged(f"the index {index} does not match the concerns it indexes")
    found = found or unreadable_deadline(conn)
    if found is not None:
        raise MalformedValue(f"concern {found[0]}", "concern", found[1])


#: Every status drp writes, in sort order.
STATUSES = ("open", "resolved", "withdrawn")

#: What no stored day can sort outside of (ISO text on SQLite, a date on PostgreSQL): the
#: days drp handles (:data:`drp_cli.store.connection.DAYS`). A value below or above is not
#: one drp writes (text such as 'soon' or 'infinity', a number, a day past 2199), and the
#: morning check's search (``deadline <= ?``) would pass it by without a word.
_DAYS = DAYS


def unreadable_deadline(conn: Conn) -> tuple[int, str] | None:
    """An open concern whose deadline the morning check searches on is no day at all:
    (its id, the column), or None. Two seeks in each status-and-deadline index (the ends
    of its open range), and one in the open concerns with no deadline for the day their
    stage began: a cost that does not grow with the record."""
    low, high = _DAYS
    searches = [
        f"SELECT id, '{column}' FROM concern{f' INDEXED BY {index}' if conn.is_sqlite else ''} "
        f"WHERE status = 'open' AND {column} {bound}"
        for column, index in CHECK_INDEXES
        for bound in (f"< '{low}'", f"> '{high}'")
    ]
    hint = f" {_NO_DEADLINE_INDEX}" if conn.is_sqlite else ""  # see overdue_sql
    searches += [
        f"SELECT id, 'stage_started_on' FROM concern{hint} WHERE status = 'open' AND deadline "
        f"IS NULL AND step_deadline IS NULL AND stage_started_on {bound}"
        for bound in (f"< '{low}'", f"> '{high}'")
    ]
    # a status drp never writes hides the concern from the search (status = 'open'): the
    # ranges between the three it writes, each a seek in the status index
    first, *rest = STATUSES
    gaps = [f"status < '{first}'", f"status > '{rest[-1]}'"] + [
        f"status > '{a}' AND status < '{b}'" for a, b in zip(STATUSES, rest, strict=False)
    ]
    searches += [f"SELECT id, 'status' FROM concern WHERE {gap}" for gap in gaps]
    row = conn.one(" UNION ALL ".join(f"SELECT * FROM ({s} LIMIT 1) AS s{n}"
                                      for n, s in enumerate(searches)) + " LIMIT 1")  # fmt: skip
    return (int(row[0]), str(row[1])) if row is not None else None


#: the columns of :func:`actions_sql`'s rows (c: the concern, i: the action's item), and
#: their text columns, as :data:`_TEXTS`
_ACTION_COLUMNS = ("c.id", "c.child", "c.protocol", "c.stage", "c.stage_responded_on",
                   "c.stage_started_on", "c.summary", "c.owner", "c.team", "i.n", "i.data",
                   "c.route")  # fmt: skip
_ACTION_TEXTS = _text_positions([c.removeprefix("c.") for c in _ACTION_COLUMNS])


def actions_sql(filters: Sequence[str] = ()) -> str:
    """The outstanding recommended actions of the open concerns: through the concern status
    index and the item table's concern index (their due dates are inside the item's data)."""
    extra = "".join(f" AND {c}" for c in folded_filters(filters, "c."))
    return (
        f"SELECT {', '.join(_ACTION_COLUMNS)} FROM concern c "
        "JOIN item i ON i.concern_id = c.id "
        "WHERE c.status = 'open' AND i.kind = 'action' AND i.done_on IS NULL "
        f"AND i.removed_on IS NULL{extra}"
    )


def action_rows(conn: Conn, filters: Mapping[str, str] | None = None) -> list[tuple[Any, ...]]:
    """The outstanding actions (not done, not removed) of the open concerns: the columns
    :func:`drp_cli.domain.overdue.overdue_items` reads as ``actions``."""
    filters = dict(filters or {})
    names = [n for n in TEXT_FILTERS if n in filters]
    rows = conn.rows(actions_sql(names), [filters[n] for n in names])
    for row in rows:  # a data that is no JSON object, or a due that is no day, is an error
        where = f"concern {row[0]}"
        due = stored_object(row[10], where, "item", "data").get("due")
        if due:
            try:
                day_text(due, True)  # as drp writes it: ISO, within the days it handles
            except (ValueError, OverflowError, UnicodeError):
                raise MalformedValue(where, "item", "data") from None
        if type(row[9]) is not int:  # its number, which the line shows
            raise MalformedValue(where, "item", "n")
    if conn.is_sqlite:
        _texts_checked(rows, _ACTION_TEXTS)
    return rows
