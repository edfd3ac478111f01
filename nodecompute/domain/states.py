"""Server states as tables (behaviour.md section 9): power_state, vm_state, task_state, the API status map and the
states each action is allowed from."""
from __future__ import annotations

from dataclasses import dataclass

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
PAUSING, UNPAUSING, SUSPENDING, RESUMING = "pausing", "unpausing", "suspending", "resuming"
SOFT_DELETING, RESTORING = "soft-deleting", "restoring"
IMAGE_SNAPSHOT_PENDING, IMAGE_SNAPSHOT, IMAGE_BACKUP = "image_snapshot_pending", "image_snapshot", "image_backup"
IMAGE_PENDING_UPLOAD, IMAGE_UPLOADING = "image_pending_upload", "image_uploading"
REBUILDING, REBUILD_SPAWNING, RESCUING, UNRESCUING = "rebuilding", "rebuild_spawning", "rescuing", "unrescuing"

BUILD_TASKS = (SCHEDULING, NETWORKING, BLOCK_DEVICE_MAPPING, SPAWNING)
SOFT_REBOOT_TASKS = (REBOOTING, REBOOT_PENDING, REBOOT_STARTED)
HARD_REBOOT_TASKS = (REBOOTING_HARD, REBOOT_PENDING_HARD, REBOOT_STARTED_HARD)
REBUILD_TASKS = (REBUILDING, "rebuild_block_device_mapping", REBUILD_SPAWNING)
RESIZE_TASKS = ("resize_prep", "resize_migrating", "resize_migrated", "resize_finish")
RESIZE_PREP, RESIZE_MIGRATING, RESIZE_MIGRATED, RESIZE_FINISH = RESIZE_TASKS
RESIZE_REVERTING = "resize_reverting"
SHELVING, SHELVING_IMAGE_PENDING_UPLOAD, SHELVING_IMAGE_UPLOADING = ("shelving", "shelving_image_pending_upload",
                                                                    "shelving_image_uploading")
SHELVING_OFFLOADING, UNSHELVING = "shelving_offloading", "unshelving"
SHELVE_TASKS = (SHELVING, SHELVING_IMAGE_PENDING_UPLOAD, SHELVING_IMAGE_UPLOADING, SHELVING_OFFLOADING, UNSHELVING)
# createImage / createBackup: the disk copy, then its upload into the image store (the server keeps its vm_state)
IMAGE_TASKS = (IMAGE_SNAPSHOT_PENDING, IMAGE_SNAPSHOT, IMAGE_BACKUP, IMAGE_PENDING_UPLOAD, IMAGE_UPLOADING)
UPDATING_PASSWORD = "updating_password"
# Tasks of the actions whose work comes with the request: a stop cuts them short for good (reconcile.py abandons
# them: the server as it was, their unfinished image deleted)
ABANDONED_TASKS = (*IMAGE_TASKS, UPDATING_PASSWORD)

# vm_state -> (default status, {task_state: status override})
STATUS_MAP: dict[str, tuple[str, dict[str, str]]] = {
    ACTIVE: ("ACTIVE", {
        **{t: "REBOOT" for t in SOFT_REBOOT_TASKS}, **{t: "HARD_REBOOT" for t in HARD_REBOOT_TASKS},
        UPDATING_PASSWORD: "PASSWORD", **{t: "REBUILD" for t in REBUILD_TASKS}, "migrating": "MIGRATING",
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


@dataclass(frozen=True)
class ActionRule:
    """One server action as data (compute/server_actions.py runs it; reconcile.py replays it after a stop).

    It may start when the server's vm_state is in `allowed` and its task_state in `expected` (None: idle); while it
    runs the task_state is `task` (then `started`, if set, once the guest itself is touched); when it is done the
    server is `done` = (vm_state, power_state) with no task. An action with no `task` (trigger_crash_dump) changes
    no state: it only touches the guest. `message_name` is the action's name in Nova's "Cannot '<name>' instance
    ..." conflict. A server found at start-up with a task_state in `interrupted` had this action cut short by a
    stop: the action named `replay` runs again from the beginning. `record` is the action's name in the instance
    action record (os-instance-actions), `event` the name of its one event there (Nova's compute_<method>), or
    None when the work records its own events (resize: conductor, prep, resize and finish, as Nova's).
    """

    message_name: str
    allowed: tuple[str, ...]
    task: str | None
    done: tuple[str, int] | None
    expected: tuple[str | None, ...] = (None,)
    started: str | None = None
    interrupted: tuple[str, ...] = ()
    replay: str | None = None
    record: str = ""
    event: str | None = ""


# vm_states Nova's trigger_crash_dump accepts (vm_states.ALLOW_TRIGGER_CRASH_DUMP)
ALLOW_TRIGGER_CRASH_DUMP = (ACTIVE, PAUSED_VM, RESCUED, RESIZED, ERROR)
LIVE_VM_STATES = tuple(state for state in STATUS_MAP if state != DELETED)

# The server actions that run in the background (name -> rule). Adding one is a row here, its work in
# compute/server_actions.py WORK and the thin adapter calls that work makes.
ACTIONS: dict[str, ActionRule] = {
    "reboot": ActionRule(
        "reboot", allowed=(ACTIVE,), task=REBOOTING, started=REBOOT_STARTED, done=(ACTIVE, RUNNING),
        interrupted=SOFT_REBOOT_TASKS, replay="reboot_hard", record="reboot", event="compute_reboot_instance"),
    "reboot_hard": ActionRule(
        "reboot", allowed=(ACTIVE, STOPPED, PAUSED_VM, SUSPENDED_VM, ERROR), task=REBOOTING_HARD,
        expected=(None, *SOFT_REBOOT_TASKS, *HARD_REBOOT_TASKS[1:]), started=REBOOT_STARTED_HARD,
        done=(ACTIVE, RUNNING), interrupted=HARD_REBOOT_TASKS, replay="reboot_hard", record="reboot",
        event="compute_reboot_instance"),
    "start": ActionRule(
        "start", allowed=(STOPPED,), task=POWERING_ON, done=(ACTIVE, RUNNING), interrupted=(POWERING_ON,),
        replay="start", record="start", event="compute_start_instance"),
    "stop": ActionRule(
        "stop", allowed=(ACTIVE, ERROR), task=POWERING_OFF, done=(STOPPED, SHUTDOWN), interrupted=(POWERING_OFF,),
        replay="stop", record="stop", event="compute_stop_instance"),
    "pause": ActionRule(
        "pause", allowed=(ACTIVE,), task=PAUSING, done=(PAUSED_VM, PAUSED), interrupted=(PAUSING,), replay="pause",
        record="pause", event="compute_pause_instance"),
    "unpause": ActionRule(
        "unpause", allowed=(PAUSED_VM,), task=UNPAUSING, done=(ACTIVE, RUNNING), interrupted=(UNPAUSING,),
        replay="unpause", record="unpause", event="compute_unpause_instance"),
    "suspend": ActionRule(  # libvirt's managed save: the domain is off, its memory in a file
        "suspend", allowed=(ACTIVE,), task=SUSPENDING, done=(SUSPENDED_VM, SHUTDOWN), interrupted=(SUSPENDING,),
        replay="suspend", record="suspend", event="compute_suspend_instance"),
    "resume": ActionRule(
        "resume", allowed=(SUSPENDED_VM,), task=RESUMING, done=(ACTIVE, RUNNING), interrupted=(RESUMING,),
        replay="resume", record="resume", event="compute_resume_instance"),
    "trigger_crash_dump": ActionRule(
        "trigger_crash_dump", allowed=ALLOW_TRIGGER_CRASH_DUMP, task=None, done=None, record="trigger_crash_dump",
        event="compute_trigger_crash_dump"),
    # createImage / createBackup (compute/server_images.py): Nova's snapshot and backup states, no lock check
    "snapshot": ActionRule(
        "createImage", allowed=(ACTIVE, STOPPED, PAUSED_VM, SUSPENDED_VM), task=IMAGE_SNAPSHOT_PENDING, done=None,
        started=IMAGE_SNAPSHOT, record="createImage", event="compute_snapshot_instance"),
    "backup": ActionRule(
        "createBackup", allowed=(ACTIVE, STOPPED, PAUSED_VM, SUSPENDED_VM), task=IMAGE_BACKUP, done=None,
        record="createBackup", event="compute_backup_instance"),
    # changePassword (compute/server_admin_password.py): through the guest agent while the caller waits (Nova)
    "change_password": ActionRule(
        "changePassword", allowed=(ACTIVE,), task=UPDATING_PASSWORD, done=None, record="changePassword",
        event="compute_set_admin_password"),
    # resize, confirmResize, revertResize (compute/resize.py): the work sets the end states itself (they follow the
    # vm_state the server had before); a failed resize leaves the server as it was
    "resize": ActionRule(
        "resize", allowed=(ACTIVE, STOPPED), task=RESIZE_PREP, done=None, record="resize", event=None),
    "confirm_resize": ActionRule(
        "confirmResize", allowed=(RESIZED,), task=None, done=None, record="confirmResize",
        event="compute_confirm_resize"),
    "revert_resize": ActionRule(
        "revertResize", allowed=(RESIZED,), task=RESIZE_REVERTING, done=None, record="revertResize", event=None),
    # shelve, shelveOffload, unshelve (compute/shelve.py): the work sets the end states itself
    "shelve": ActionRule(
        "shelve", allowed=(ACTIVE, STOPPED, PAUSED_VM, SUSPENDED_VM), task=SHELVING, done=None, record="shelve",
        event="compute_shelve_instance"),
    "shelve_offload": ActionRule(
        "shelveOffload", allowed=(SHELVED,), task=SHELVING_OFFLOADING, done=None, record="shelveOffload",
        event="compute_shelve_offload_instance"),
    "unshelve": ActionRule(
        "unshelve", allowed=(SHELVED, SHELVED_OFFLOADED), task=UNSHELVING, done=None, record="unshelve",
        event="compute_unshelve_instance"),
    # rebuild (compute/rebuild.py): a fresh root disk and config drive from the row the request rewrote; a stopped
    # server stays stopped (rebuild.done_values), a failure leaves ERROR with a fault (Nova); a stop mid-way redoes it
    "rebuild": ActionRule(
        "rebuild", allowed=(ACTIVE, STOPPED, ERROR), task=REBUILDING, started=REBUILD_SPAWNING,
        done=(ACTIVE, RUNNING), interrupted=REBUILD_TASKS, replay="rebuild", record="rebuild",
        event="compute_rebuild_instance"),
    # rescue / unrescue (compute/rescue.py): a stop in the middle of either boots the server from its own disk
    "rescue": ActionRule(
        "rescue", allowed=(ACTIVE, STOPPED, ERROR), task=RESCUING, done=(RESCUED, RUNNING), interrupted=(RESCUING,),
        replay="unrescue", record="rescue", event="compute_rescue_instance"),
    "unrescue": ActionRule(
        "unrescue", allowed=(RESCUED,), task=UNRESCUING, done=(ACTIVE, RUNNING), interrupted=(UNRESCUING,),
        replay="unrescue", record="unrescue", event="compute_unrescue_instance"),
    # DELETE with a reclaim interval (compute/server_deletes.py): any state, any task, once launched (Nova).
    "soft_delete": ActionRule(
        "soft_delete", allowed=LIVE_VM_STATES, task=SOFT_DELETING, done=(SOFT_DELETED, SHUTDOWN),
        interrupted=(SOFT_DELETING,), replay="soft_delete", record="delete", event="compute_soft_delete_instance"),
    "restore": ActionRule(
        "restore", allowed=(SOFT_DELETED,), task=RESTORING, done=(ACTIVE, RUNNING), interrupted=(RESTORING,),
        replay="restore", record="restore", event="compute_restore_instance"),
}


def interrupted_action(task_state: str | None) -> str | None:
    """The action to replay for a server a stop left in `task_state` (None: no action was running)."""
    for rule in ACTIONS.values():
        if task_state in rule.interrupted:
            return rule.replay
    return None


# action -> vm_states it is allowed from (task_state must be idle unless its rule says otherwise).
ALLOWED: dict[str, tuple[str, ...]] = {
    **{name: rule.allowed for name, rule in ACTIONS.items()},
    "update_metadata": (ACTIVE, PAUSED_VM, SUSPENDED_VM, STOPPED),
}
