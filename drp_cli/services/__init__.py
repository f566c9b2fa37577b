"""Services: the use cases, over the store's unit of work and the domain's rules.

Concerns (``tracker``: open, escalate, respond, resolve and the rest), corrections, items and
attachments, the staff directory, backups, and the managers' report.
"""
