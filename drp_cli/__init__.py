"""drp: a tracker for the Dispute Resolution Process in English children's services.

The package is a library first: :class:`drp_cli.services.tracker.Tracker` is the importable
API; the ``drp`` command in :mod:`drp_cli.cli` only parses arguments, calls it and prints.

The layers, each a subpackage, from the bottom: ``core`` -> ``domain`` -> ``store`` ->
``adapters`` -> ``services`` -> ``exchange`` -> ``render`` -> ``cli`` (each imports only those
below it: ``make lint`` holds the contract in pyproject.toml).
"""

__version__ = "0.1.0"
