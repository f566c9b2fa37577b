# ruff: noqa: E501
"""The table of drp's commands: which module defines each, its heading in ``drp --help``
and the first line of its help. ``drp --help`` and shell completion read this table
instead of importing every command; ``tests/test_cli_startup.py`` checks it against the
commands the modules define."""


class Entry:
    """Where a command is defined, its heading in `drp --help`, and its summary."""

    __slots__ = ("module", "section", "summary")

    def __init__(self, module: str, section: str, summary: str) -> None:
        self.module = module  # drp_cli.cli.<module>
        self.section = section
        self.summary = summary  # the first line of the command's help


# In the order `drp --help` lists them: daily recording first, then reading, documents,
# reference and the database.
COMMANDS: dict[str, Entry] = {
    "open": Entry("concerns", "Record", "Open a concern at the protocol's first stage (or --stage)."),
    "escalate": Entry("concerns", "Record", "Escalate to the next stage, or forward to any later stage with --to."),
    "respond": Entry("concerns", "Record", "Record a response from the manager the concern is addressed to."),
    "note": Entry("concerns", "Record", "Add a note to a concern's record."),
    "refer": Entry("concerns", "Record", "Record a referral to CAFCASS (the process goes on alongside it)."),
    "voice": Entry("concerns", "Record", "Record the child's voice: were their wishes sought, were they told the outcome."),
    "meeting": Entry("steps", "Record", "Record a meeting held: who attended, what was discussed, the actions agreed."),
    "done": Entry("steps", "Record", "Record a step of the stage, or a recording duty, as done."),
    "due": Entry("steps", "Record", "Set or change the current stage's due date, with the reason."),
    "cafcass": Entry("steps", "Record", "Record a step around a CAFCASS referral (notification, helpline, advice, outcome)."),
    "not-applicable": Entry("steps", "Record", "Mark an item of the CAFCASS bundle as not applicable, with the reason."),
    "good-practice": Entry("steps", "Record", "Record good practice or a positive resolution."),
    "resolve": Entry("concerns", "Record", "Mark a concern resolved, with its outcome."),
    "withdraw": Entry("concerns", "Record", "Withdraw a concern (raised in error, or overtaken by events)."),
    "amend": Entry("corrections", "Correct", "Correct what was recorded about a concern, with the reason."),
    "retract": Entry("corrections", "Correct", "Retract an entry made in error: it stays in the history, marked, and no longer counts."),
    "reopen": Entry("corrections", "Correct", "Reopen a resolved or withdrawn concern at the stage it was at (its clock restarts)."),
    "redact": Entry("corrections", "Correct", "Remove personal data entered in error from an entry (a name typed as a reference)."),
    "assign": Entry("corrections", "Correct", "Hand a concern over to another IRO (and team), with the reason."),
    "overdue": Entry("reports", "Read", "The daily check: what is overdue (exit status 1 if a firm deadline is passed), what is past an aim or guidance, and what is due soon."),
    "list": Entry("reports", "Read", "List concerns (open ones by default)."),
    "report": Entry("report", "Read", "The manager's quality-assurance report: rates, activity in the period, the open caseload."),
    "show": Entry("reports", "Read", "Show one concern: its stages with deadlines met or missed, and every event."),
    "alert": Entry("documents", "Documents", "Render the current stage's form (Markdown, HTML or Word), or send it as an e-mail."),
    "bundle": Entry("documents", "Documents", "Assemble the CAFCASS referral bundle in a new folder and/or one PDF, and say what is missing."),
    "action": Entry("documents", "Documents", "Recommended actions, in priority order, with owners and due dates."),
    "person": Entry("documents", "Documents", "Professionals, and important people in the child's life."),
    "wishes": Entry("documents", "Documents", "The child's wishes and feelings."),
    "needs": Entry("documents", "Documents", "Diversity issues and communication needs of the child and family."),
    "attach": Entry("documents", "Documents", "Attach a document (copied into the store, SHA-256 recorded)."),
    "attachments": Entry("documents", "Documents", "List a concern's attached documents."),
    "identify": Entry("documents", "Documents", "Record the child's name, date of birth, court, case number or guardian, for the bundle."),
    "protocols": Entry("reference", "Reference", "The dispute resolution protocols drp knows."),
    "themes": Entry("reference", "Reference", "The four themes (categories) and the example issues within each."),
    "calendar": Entry("reference", "Reference", "Working days: bank holidays, local closure days, deadline sums; deadlines for Outlook."),
    "staff": Entry("people", "Reference", "The staff directory: who concerns are owned by and handed to."),
    "config": Entry("people", "Reference", "Your settings: your name, default protocol, role, team, database."),
    "version": Entry("about", "Reference", "Show drp's version (the same as `drp --version`)."),
    "init": Entry("admin", "Database", "Create the database (owner-only), or say that it is already there."),
    "verify": Entry("admin", "Database", "Check the tamper-evident record: the hash chain, every concern's state, the stored files."),
    "key": Entry("admin", "Database", "The key that seals the chain (keyed mode)."),
    "backup": Entry("admin", "Database", "Take a consistent copy while others are writing (files are owner-only)."),
    "restore": Entry("admin", "Database", "Load a JSON backup into an empty database (SQLite or PostgreSQL)."),
    "import": Entry("transfers", "Database", "Import concerns from a spreadsheet tracker: all rows or none; importing it again records what changed (with --update), never a second copy."),
    "export": Entry("transfers", "Database", "Export every concern with its events (CSV, JSON or xlsx); `drp import` takes it back."),
    "db": Entry("admin", "Database", "The database's schema."),
    "hold": Entry("retention", "Database", "Place a legal hold on a concern: kept, whatever the retention schedule says, until the hold is lifted."),
    "unhold": Entry("retention", "Database", "Lift a concern's legal hold, with the reason."),
    "retention": Entry("retention", "Database", "List the closed concerns past their retention period and not under a legal hold."),
    "purge": Entry("retention", "Database", "Remove for good the closed concerns past their retention period and not held: their events, items and stored files, leaving a tombstone in the record that `drp verify` checks."),
    "audit": Entry("privacy", "Database", "The audit of reads: who read what, and when (it cannot be turned off)."),
    "subject-access": Entry("privacy", "Database", "Subject access: write everything drp holds about a child, for review before release; record a request and when its answer is due."),
}  # fmt: skip
