"""The two state machines of the service, as data: state → the states it may move to next."""

from __future__ import annotations

from enum import StrEnum

from services.devices.errors import IllegalTransition


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
DEVICE_TRANSITIONS: dict[DeviceStatus, frozenset[DeviceStatus]] = {
    DeviceStatus.IN_SERVICE: frozenset({DeviceStatus.OUT_OF_SERVICE, DeviceStatus.RETIRED}),
    DeviceStatus.OUT_OF_SERVICE: frozenset({DeviceStatus.UNDER_REPAIR, DeviceStatus.RETIRED}),
    DeviceStatus.UNDER_REPAIR: frozenset(
        {DeviceStatus.IN_SERVICE, DeviceStatus.OUT_OF_SERVICE, DeviceStatus.RETIRED}
    ),
    DeviceStatus.RETIRED: frozenset(),
}

# A repair is opened by an abnormal check, started by ops (the device goes under repair), and closed
# with what was done. A quick fix may be closed without a start (the device still passes through
# "under repair" and waits for a good check); retiring a device closes its repair.
REPAIR_TRANSITIONS: dict[RepairStatus, frozenset[RepairStatus]] = {
    RepairStatus.OPEN: frozenset({RepairStatus.IN_PROGRESS, RepairStatus.CLOSED}),
    RepairStatus.IN_PROGRESS: frozenset({RepairStatus.CLOSED}),
    RepairStatus.CLOSED: frozenset(),
}


def next_device_status(current: str, target: DeviceStatus) -> DeviceStatus:
    """``target`` when the table allows it, else a 409 naming the allowed next states."""
    state = DeviceStatus(current)
    allowed = DEVICE_TRANSITIONS[state]
    if target not in allowed:
        raise IllegalTransition("device", state.value, target.value, sorted(s.value for s in allowed))
    return target


def next_repair_status(current: str, target: RepairStatus) -> RepairStatus:
    """``target`` when the table allows it, else a 409 naming the allowed next states."""
    state = RepairStatus(current)
    allowed = REPAIR_TRANSITIONS[state]
    if target not in allowed:
        raise IllegalTransition("repair", state.value, target.value, sorted(s.value for s in allowed))
    return target
