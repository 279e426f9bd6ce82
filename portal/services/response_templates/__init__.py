"""Response templates: the organisation's boilerplate for the typed messages to the reporter.

Each kind of message (acknowledgement, request for information, feedback, decision,
resolution, the appeal's answer) has a shipped default in every language of the catalogue
(defaults.py); an admin's own text for a kind and language replaces it (store.py). A handler
starts a reply from one: its ``{placeholders}`` are filled from the case (filling.py), the
handler edits the text, and it is sent and sealed like any other message.
"""
