"""What a reporter does and gets: for now, proofs of report (the rest of reporting lives in the
flat services package until it is next changed)."""
