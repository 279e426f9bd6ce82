"""What the reporter is shown of their own case: when they last opened it, and what is awaited.

- ``visits``: the reporter's record of their own visits, sealed under their passphrase.
- ``awaited``: what the organisation is waiting for, and what it owes next.
"""
