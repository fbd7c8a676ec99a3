"""The state machines of the tasks service, as data (crmkit.workflow)."""

from __future__ import annotations

from enum import StrEnum

from crmkit.workflow import TransitionTable, transition_table


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class PlanStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


# A task is worked once: done, or cancelled; neither comes back.
TASK_TRANSITIONS: TransitionTable[TaskStatus] = transition_table(
    {
        TaskStatus.OPEN: {TaskStatus.DONE, TaskStatus.CANCELLED},
        TaskStatus.DONE: set(),
        TaskStatus.CANCELLED: set(),
    }
)

# A plan runs until its subject's story ends (a claim closed) or its last step is worked.
PLAN_TRANSITIONS: TransitionTable[PlanStatus] = transition_table(
    {
        PlanStatus.IN_PROGRESS: {PlanStatus.COMPLETED, PlanStatus.CANCELLED},
        PlanStatus.COMPLETED: set(),
        PlanStatus.CANCELLED: set(),
    }
)

# An outbox row is claimed (sending) by one replica, then sent, back to pending for a retry, or failed
# once its retries are spent. A row left "sending" by a replica that stopped mid-send is failed, never
# sent again: a message goes out at most once (services/tasks/outbox.py).
DELIVERY_TRANSITIONS: TransitionTable[DeliveryStatus] = transition_table(
    {
        DeliveryStatus.PENDING: {DeliveryStatus.SENDING},
        DeliveryStatus.SENDING: {DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.FAILED},
        DeliveryStatus.SENT: set(),
        DeliveryStatus.FAILED: set(),
    }
)
