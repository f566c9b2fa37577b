"""Store: the one data-access path for both engines (SQLite and PostgreSQL).

The connection (``connection``), every query and the public unit of work and ``verify``
(``record``), the report's queries, the database file and its side files, the schema
(``models``) and its migrations (``migrate``, ``migrations/``).
"""
