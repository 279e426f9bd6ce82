"""What a reporter does and gets, beyond filing (the rest of reporting lives in the flat services
package until it is next changed):

- ``visits``: the reporter's record of their own visits, sealed under their passphrase.
- ``awaited``: what the organisation is waiting for, and what it owes next.
- ``proofs`` and ``proof_items``: signed proofs of report.
"""
