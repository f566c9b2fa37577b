"""drp report --html, looked at the way a person sees it: the page loaded in headless
Chromium (installed by scripts/chromium.sh, which `make test` runs) with no console message
and no request anywhere, every chart present as inline SVG, a screenshot kept, and the page
printed on A4.

Set DRP_REPORT_SCREENSHOT=PATH to keep a copy of the screenshot there (the README's
docs/report-screenshot.png is made that way)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.test_report import PERIOD, scenario

CHROMIUM = os.environ.get("DRP_CHROMIUM", "/usr/bin/chromium")
CHARTS = ("by-month", "by-theme", "furthest-stage", "stage-deadlines", "stage-aims")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]  # fmt: skip

needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"headless Chromium is not installed at {CHROMIUM} (scripts/chromium.sh installs it)",
)


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    profile = tempfile.mkdtemp(prefix="drp-chromium-", dir=tmp)
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def page_requests(netlog: Path) -> list[str]:
    """The URLs the page itself asked for (the browser's own background requests, which
    have no page behind them, left out)."""
    events = json.loads(netlog.read_text())["events"]
    return sorted({
        e["params"]["url"] for e in events
        if "url" in e.get("params", {})
        and "file://" in str(e["params"].get("network_isolation_key", ""))
    })  # fmt: skip


@pytest.fixture
def html_report(tracker, drp, tmp_path: Path) -> Path:
    scenario(tracker)
    out = tmp_path / "report.html"
    result = drp("report", *PERIOD, "--html", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Wrote the HTML report to {out}\n"
    return out


def test_the_page_is_self_contained(html_report: Path):
    text = html_report.read_text()
    assert '<meta name="generator" content="drp-cli">' in text
    assert html_report.stat().st_mode & 0o777 == 0o600
    for forbidden in ("<script", "<link", "@import", "<img", "<metadata"):
        assert forbidden not in text
    assert re.findall(r"url\((?!#)", text) == []  # only the charts' own clip paths
    # the only addresses are the SVG namespaces, which are names, never fetched
    addresses = {w.split('"')[1] for w in text.split("=")[1:] if w.startswith('"http')}
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    assert text.count("<svg") == len(CHARTS)
    assert "CH-" not in text and "Concern A" not in text  # no child reference, no free text
    assert "@page { size: A4" in text


def test_force_replaces_only_a_report_drp_wrote(html_report: Path, drp, tmp_path: Path):
    again = drp("report", *PERIOD, "--html", str(html_report))
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert drp("report", *PERIOD, "--html", str(html_report), "--force").exit_code == 0
    mine = tmp_path / "mine.html"
    mine.write_text("<html>my own page</html>")
    refused = drp("report", *PERIOD, "--html", str(mine), "--force")
    assert refused.exit_code == 2
    assert mine.read_text() == "<html>my own page</html>"


@needs_chromium
def test_the_page_in_chromium(html_report: Path, tmp_path: Path):
    shot = tmp_path / "report.png"
    netlog = tmp_path / "net.json"
    url = html_report.as_uri()
    loaded = chromium("--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}",
                      "--window-size=1000,2600", f"--screenshot={shot}", url,
                      tmp=tmp_path)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    console = [line for line in loaded.stderr.splitlines() if ":CONSOLE" in line]
    assert console == []
    assert page_requests(netlog) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if os.environ.get("DRP_REPORT_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["DRP_REPORT_SCREENSHOT"])

    dom = chromium("--dump-dom", url, tmp=tmp_path)
    assert dom.returncode == 0
    for chart in CHARTS:
        start = dom.stdout.index(f'id="chart-{chart}"')
        figure = dom.stdout[start : dom.stdout.index("</figure>", start)]
        assert "<svg" in figure and "</svg>" in figure, chart
    assert "Concerns opened by month" in dom.stdout
    assert "West Sussex County Council: Stage 2: Group Manager" in dom.stdout  # not a slug
    assert "west-sussex:stage-2" not in dom.stdout

    from pypdf import PdfReader

    pdf = tmp_path / "report.pdf"
    printed = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", url, tmp=tmp_path)
    assert printed.returncode == 0, printed.stderr[-2000:]
    pages = PdfReader(pdf).pages
    assert 2 <= len(pages) <= 6
    for p in pages:  # A4: 210 x 297 mm, in points
        assert (round(float(p.mediabox.width)), round(float(p.mediabox.height))) == (595, 842)


@needs_chromium
def test_a_page_that_asks_for_something_is_caught(tmp_path: Path):
    """The checks above can fail: a page with a remote image and a console error."""
    bad = tmp_path / "bad.html"
    bad.write_text('<img src="http://example.invalid/x.png"><script>console.error("x")</script>')
    netlog = tmp_path / "net.json"
    loaded = chromium("--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}",
                      "--dump-dom", bad.as_uri(), tmp=tmp_path)  # fmt: skip
    assert any(":CONSOLE" in line for line in loaded.stderr.splitlines())
    assert page_requests(netlog) == ["http://example.invalid/x.png"]
