"""An operating-system error about a file descriptor (its ``filename`` an int, as
``open(fd)`` on a folder gives) is one line, exit 4: the handler never crashes on it (the
sweep's finding: a traceback)."""

from __future__ import annotations

import errno


def test_an_os_error_about_a_descriptor_is_its_reason(drp, monkeypatch):
    from drp_cli.services.tracker import Tracker

    def on_a_descriptor(self, *args, **kwargs):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", 7)

    monkeypatch.setattr(Tracker, "concerns", on_a_descriptor)
    r = drp("list", "--json")
    assert (r.exit_code, r.stderr) == (4, "Error: Is a directory\n")
