"""Render: documents for people (the alert form in Markdown, HTML, Word and e-mail, the CAFCASS
bundle as a folder and one PDF, the report's HTML page, calendars), and sending them."""
