"""Domain errors of the performance service (problem types are the shared ones, crmkit/problems.py)."""

from __future__ import annotations

from crmkit.problems import Conflict, Forbidden, NotFound, Unprocessable


class GoalNotFound(NotFound):
    """No such goal, or not the caller's to see."""


class AgentNotFound(NotFound):
    """No such agent, or outside the caller's scope."""


class NoteNotFound(NotFound):
    """No such progress note, or not the caller's to see."""


class GoalExists(Conflict):
    """The agent already has a goal for that period."""


class OwnGoalApproval(Forbidden):
    """An agent never approves their own goal: the team lead does (manual 七.3)."""


class BreakdownMismatch(Unprocessable):
    """A monthly breakdown that does not add up to the yearly goal."""
