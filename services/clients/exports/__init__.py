"""CSV export of the caller's clients (masked, or revealed with an audited reason)."""
