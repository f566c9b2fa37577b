"""Domain: the rules of the Dispute Resolution Process, pure (no I/O, no clock, no database).

Working-day calendar arithmetic, protocols as their sources say, the transitions each event
kind is allowed, the lifecycle fold (events to a concern's state), the judgement of a concern
on a day (every clock and its state), the morning check's rule, the plain-data views, the
words drp uses, and the hash chain. No typer, rich or database driver.
"""
