"""Likely duplicate clients, and merging two into one."""
