"""Core: what every layer may use and which uses nothing of drp's above it.

Errors (one exception per kind of failure, each carrying the field it is about), dates (one
coercion of a day, the days drp handles), text safety (what may reach a terminal, a cell or a
file), ids and uids, the config file, and the one owner-only atomic writer. No typer, rich or
database driver.
"""
