"""Services about staff: key escrow (its escrow custodians and their approvals)."""
