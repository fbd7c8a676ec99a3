"""The two state machines of the service, as data (crmkit.workflow): state → the states it may move to
next, and what a check or a closed repair does to the device's status."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from crmkit.workflow import TransitionTable, transition_table


class DeviceStatus(StrEnum):
    IN_SERVICE = "in_service"
    OUT_OF_SERVICE = "out_of_service"
    UNDER_REPAIR = "under_repair"
    RETIRED = "retired"


class RepairStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


# Procedure §四: an abnormal finding stops use at once (out of service, a repair opens); starting the
# repair puts the device under repair; a fully good check after the repair is closed returns it to
# service, an abnormal one takes it out of service again. Any device but a retired one may be retired.
DEVICE_TRANSITIONS: TransitionTable[DeviceStatus] = transition_table(
    {
        DeviceStatus.IN_SERVICE: {DeviceStatus.OUT_OF_SERVICE, DeviceStatus.RETIRED},
        DeviceStatus.OUT_OF_SERVICE: {DeviceStatus.UNDER_REPAIR, DeviceStatus.RETIRED},
        DeviceStatus.UNDER_REPAIR: {
            DeviceStatus.IN_SERVICE,
            DeviceStatus.OUT_OF_SERVICE,
            DeviceStatus.RETIRED,
        },
        DeviceStatus.RETIRED: set(),
    }
)

# A repair is opened by an abnormal check, started by ops (the device goes under repair), and closed
# with what was done. A quick fix may be closed without a start (the device still passes through
# "under repair" and waits for a good check); retiring a device closes its repair.
REPAIR_TRANSITIONS: TransitionTable[RepairStatus] = transition_table(
    {
        RepairStatus.OPEN: {RepairStatus.IN_PROGRESS, RepairStatus.CLOSED},
        RepairStatus.IN_PROGRESS: {RepairStatus.CLOSED},
        RepairStatus.CLOSED: set(),
    }
)

# What a check does to a device with no repair under way (status before → status after); a status
# not listed stands: a good check of a device in service, or any check while a repair is still under
# way (its findings are recorded for the repair, which stays the only open one).
AFTER_ABNORMAL_CHECK: Mapping[DeviceStatus, DeviceStatus] = MappingProxyType(
    {
        DeviceStatus.IN_SERVICE: DeviceStatus.OUT_OF_SERVICE,
        DeviceStatus.UNDER_REPAIR: DeviceStatus.OUT_OF_SERVICE,
    }
)
"""Stop using it at once, and a repair opens (procedure §四)."""
AFTER_GOOD_CHECK: Mapping[DeviceStatus, DeviceStatus] = MappingProxyType(
    {DeviceStatus.UNDER_REPAIR: DeviceStatus.IN_SERVICE}
)
"""Every category good after the repair was closed: back in service."""

# What closing a repair does to its device (status before → status after); starting one always puts
# the device under repair, along DEVICE_TRANSITIONS.
AFTER_REPAIR_CLOSED: Mapping[DeviceStatus, DeviceStatus] = MappingProxyType(
    {DeviceStatus.OUT_OF_SERVICE: DeviceStatus.UNDER_REPAIR}
)
"""Closed without a separate start (a quick fix): the device still passes through "under repair"
and waits for a good check."""
