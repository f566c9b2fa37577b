"""drp: a tracker for the Dispute Resolution Process in English children's services.

The package is a library first: :class:`drp_cli.tracker.Tracker` is the importable API; the ``drp``
command in :mod:`drp_cli.cli` only parses arguments, calls it and prints.
"""

__version__ = "0.1.0"
