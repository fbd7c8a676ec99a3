"""The gateway's own views, fanned out to the services: the agenda, the client overview, the report."""
