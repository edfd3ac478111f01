"""Server states as tables (behaviour.md section 9): power_state, vm_state, task_state, the API status map and the
states each action is allowed from."""
from __future__ import annotations

# power_state (OS-EXT-STS:power_state)
NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED = 0, 1, 3, 4, 6, 7

# vm_state
ACTIVE, BUILDING, STOPPED, ERROR, DELETED = "active", "building", "stopped", "error", "deleted"
PAUSED_VM, SUSPENDED_VM, RESCUED, RESIZED = "paused", "suspended", "rescued", "resized"
SOFT_DELETED, SHELVED, SHELVED_OFFLOADED = "soft-delete", "shelved", "shelved_offloaded"

# task_state
SCHEDULING, NETWORKING, BLOCK_DEVICE_MAPPING, SPAWNING = "scheduling", "networking", "block_device_mapping", "spawning"
REBOOTING, REBOOT_PENDING, REBOOT_STARTED = "rebooting", "reboot_pending", "reboot_started"
REBOOTING_HARD, REBOOT_PENDING_HARD, REBOOT_STARTED_HARD = "rebooting_hard", "reboot_pending_hard", "reboot_started_hard"
POWERING_OFF, POWERING_ON, DELETING = "powering-off", "powering-on", "deleting"

BUILD_TASKS = (SCHEDULING, NETWORKING, BLOCK_DEVICE_MAPPING, SPAWNING)
SOFT_REBOOT_TASKS = (REBOOTING, REBOOT_PENDING, REBOOT_STARTED)
HARD_REBOOT_TASKS = (REBOOTING_HARD, REBOOT_PENDING_HARD, REBOOT_STARTED_HARD)
REBUILD_TASKS = ("rebuilding", "rebuild_block_device_mapping", "rebuild_spawning")
RESIZE_TASKS = ("resize_prep", "resize_migrating", "resize_migrated", "resize_finish")

# vm_state -> (default status, {task_state: status override})
STATUS_MAP: dict[str, tuple[str, dict[str, str]]] = {
    ACTIVE: ("ACTIVE", {
        **{t: "REBOOT" for t in SOFT_REBOOT_TASKS}, **{t: "HARD_REBOOT" for t in HARD_REBOOT_TASKS},
        "updating_password": "PASSWORD", **{t: "REBUILD" for t in REBUILD_TASKS}, "migrating": "MIGRATING",
        **{t: "RESIZE" for t in RESIZE_TASKS},
    }),
    BUILDING: ("BUILD", {}),
    STOPPED: ("SHUTOFF", {**{t: "RESIZE" for t in RESIZE_TASKS}, **{t: "REBUILD" for t in REBUILD_TASKS}}),
    RESIZED: ("VERIFY_RESIZE", {"resize_reverting": "REVERT_RESIZE"}),
    PAUSED_VM: ("PAUSED", {"migrating": "MIGRATING"}),
    SUSPENDED_VM: ("SUSPENDED", {}),
    RESCUED: ("RESCUE", {}),
    ERROR: ("ERROR", {t: "REBUILD" for t in REBUILD_TASKS}),
    DELETED: ("DELETED", {}),
    SOFT_DELETED: ("SOFT_DELETED", {}),
    SHELVED: ("SHELVED", {}),
    SHELVED_OFFLOADED: ("SHELVED_OFFLOADED", {}),
}

PROGRESS_STATUSES = {"ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING"}


def status_from_state(vm_state: str, task_state: str | None) -> str:
    default, overrides = STATUS_MAP.get(vm_state, ("UNKNOWN", {}))
    return overrides.get(task_state or "", default)


def vm_states_for_status(status: str) -> list[tuple[str, str | None]]:
    """Reverse map for ?status=: the (vm_state, task_state or None=any idle/other) pairs showing as `status`."""
    pairs: list[tuple[str, str | None]] = []
    for vm_state, (default, overrides) in STATUS_MAP.items():
        if default == status:
            pairs.append((vm_state, None))
        pairs.extend((vm_state, task) for task, shown in overrides.items() if shown == status)
    return pairs


# action -> vm_states it is allowed from (task_state must be idle unless noted in service code).
ALLOWED: dict[str, tuple[str, ...]] = {
    "reboot": (ACTIVE,),
    "reboot_hard": (ACTIVE, STOPPED, PAUSED_VM, SUSPENDED_VM, ERROR),
    "start": (STOPPED,),
    "stop": (ACTIVE, ERROR),
    "update_metadata": (ACTIVE, PAUSED_VM, SUSPENDED_VM, STOPPED),
}
