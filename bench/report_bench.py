"""`make bench`, the manager's report: ``drp report --year 2024 --json`` (April 2024 to March
2025, about 18,000 concerns, and the 18,000 of the year before for the previous-period
figures) on the largest database, whole process, wall clock. Target: under 2 s.

Called from bench/run.py with its own helpers (the target class, the interleaved timer, the
profiler), so that the report is measured the way every other command is.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

LIMIT_SECONDS = 2.0
ARGS = ["report", "--year", "2024", "--json"]


def target(
    target_cls: Any,
    env: dict[str, str],
    interleave: Callable[..., dict[str, Any]],
    profile_command: Callable[[list[str], dict[str, str]], str],
    rounds: int,
    label: str,
) -> Any:
    """The report's target: its median over ``rounds`` runs, as a share of 2 s."""
    print("drp report --year 2024 ...", flush=True)
    argv = [sys.executable, "-m", "drp_cli", *ARGS]
    timing = interleave(lambda r: [("report", argv, env, (0,))], rounds)["report"]
    return target_cls(
        "kept",
        f"drp report --year 2024 --json, {label} concerns, x {LIMIT_SECONDS:.0f} s",
        timing.median / LIMIT_SECONDS,
        1.0,
        refused=timing.refused,
        profile=lambda: profile_command(ARGS, env),
    )
