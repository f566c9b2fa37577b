"""Makes the council challenge log the import tests read: `council-log.xlsx` (as a business
support officer keeps it in Excel) and `council-log.csv` (the same sheet saved by Excel as
"CSV" on Windows: Windows-1252, commas, UK dates). Invented children and staff.

Run it again only to change the data: `python tests/data/make_council_log.py`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

HERE = Path(__file__).resolve().parent
TITLE = "IRO Dispute Resolution Log 2025/26"
HEADER = [
    "Ref No", "Child ID", "Child Initials", "Date raised", "IRO", "Theme", "Concern",
    "Current stage", "Date of current stage", "Status", "Date resolved", "Outcome",
    "Referred to CAFCASS", "Allocated SW",
]  # fmt: skip
D = dt.date
ROWS: list[list[object]] = [
    ["WS-0101", "CH-1001", "A.B.", D(2025, 4, 7), "Priya Shah", "Care Plan",
     "Care plan not updated after the placement move", "Informal", D(2025, 4, 7), "Resolved",
     D(2025, 4, 11), "Plan updated and shared", "No", "Jo Bloggs"],
    ["WS-0102", "CH-1002", "C.D.", D(2025, 4, 14), "Tom Reed", "Statutory",
     "No PEP for Zoë since March", "Stage 1", D(2025, 4, 22), "Open", "", "", "No", ""],
    ["WS-0103", "CH-1003", "E.F.", D(2025, 5, 1), "Priya Shah", "Care plan",
     "Permanence plan drifting", "Stage Two", D(2025, 5, 20), "Ongoing", "", "", "No",
     "Sam Hill"],
    ["WS-0104", "CH-1004", "G.H.", "02/06/2025", "Tom Reed", "Provision of service",
     "Placement does not meet the child's needs", " informal ", "02/06/2025", "Withdrawn",
     "06/06/2025", "Child moved at the family's request", "", ""],
    ["WS-0105", "CH-1005", "I.J.", D(2025, 6, 3), "Priya Shah", "General",
     "Review reports not shared with parents", "STAGE 3", D(2025, 6, 24), "Open", "", "",
     D(2025, 7, 1), "Jo Bloggs"],
    ["WS-0106", "CH-1001", "A.B.", D(2025, 7, 1), "Priya Shah", "care plan",
     "Contact arrangements not reviewed", "Informal", D(2025, 7, 1), "Open", "", "", "No", ""],
]  # fmt: skip
TOTAL = ["TOTAL", "", "", "", "", "", "", "", "", "", "", "", "", 6]


def _text(value: object) -> str:
    if isinstance(value, dt.date):
        return f"{value:%d/%m/%Y}"
    return str(value)


def main() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Challenge log"
    ws.append([TITLE])
    ws.append(HEADER)
    for row in ROWS:
        ws.append(row)
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, dt.date):
                cell.number_format = "dd/mm/yyyy"
    ws.append([])
    ws.append(TOTAL)
    notes = wb.create_sheet("Notes")
    notes.append(["Kept by IRO business support"])
    wb.properties.creator = "IRO Business Support"
    wb.save(HERE / "council-log.xlsx")
    lines = [",".join([TITLE] + [""] * (len(HEADER) - 1)), ",".join(HEADER)]
    for row in ROWS:
        cells = [_text(v) for v in row]
        lines.append(",".join(f'"{c}"' if "," in c or "'" in c else c for c in cells))
    lines += [",".join([""] * len(HEADER)), ",".join(_text(v) for v in TOTAL)]
    (HERE / "council-log.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


if __name__ == "__main__":
    main()
