"""The performance service: goals, scorecards and the per-agent business report (issue 19)."""
