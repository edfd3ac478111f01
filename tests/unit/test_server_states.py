"""The state tables of domain/states.py: the status map, its reverse for ?status=, and the actions table with the
work compute/server_actions.py runs for each row."""
from __future__ import annotations

import pytest

from nodecompute.compute.server_actions import WORK
from nodecompute.domain import states


@pytest.mark.parametrize("vm_state, task_state, status", [
    (states.ACTIVE, None, "ACTIVE"),
    (states.ACTIVE, states.REBOOTING, "REBOOT"),
    (states.ACTIVE, states.REBOOT_STARTED, "REBOOT"),
    (states.ACTIVE, states.REBOOTING_HARD, "HARD_REBOOT"),
    (states.ACTIVE, states.POWERING_OFF, "ACTIVE"),
    (states.STOPPED, states.POWERING_ON, "SHUTOFF"),
    (states.BUILDING, states.SPAWNING, "BUILD"),
    (states.STOPPED, "resize_prep", "RESIZE"),
    (states.ERROR, None, "ERROR"),
    ("no-such-state", None, "UNKNOWN"),
])
def test_status_from_state(vm_state, task_state, status):
    assert states.status_from_state(vm_state, task_state) == status


def test_status_reverse_map_round_trips():
    for status in {default for default, _ in states.STATUS_MAP.values()} | {"REBOOT", "HARD_REBOOT"}:
        pairs = states.vm_states_for_status(status)
        assert pairs, status
        for vm_state, task in pairs:
            assert states.status_from_state(vm_state, task) == status
    assert (states.ACTIVE, states.REBOOTING) in states.vm_states_for_status("REBOOT")
    assert states.vm_states_for_status("NOT_A_STATUS") == []


def test_every_action_has_its_work_and_a_replay():
    # createImage / createBackup bring their work with the request and are abandoned, not replayed, after a stop
    # resize, confirmResize, revertResize, shelve, shelveOffload and unshelve bring their work too and are settled by
    # compute/resize.py and compute/shelve.py after a stop
    settled = {"resize", "confirm_resize", "revert_resize", "shelve", "shelve_offload", "unshelve"}
    with_request = {name for name, rule in states.ACTIONS.items() if rule.task is not None and rule.done is None}
    assert with_request - settled == {"snapshot", "backup", "change_password"}
    # rebuild's and unrescue's works need their services: compute/rebuild.py and rescue.py add them to
    # ServerActions.work; rescue's comes with the request, and a stop's replay of it is unrescue
    # (tests/api/test_server_rebuild.py replays both)
    assert set(WORK) | {"rebuild", "unrescue"} == set(states.ACTIONS) - with_request - settled - {"rescue"}
    assert states.ACTIONS["rescue"].replay == "unrescue" and "rescue" not in WORK
    for name, rule in states.ACTIONS.items():
        # every action is recorded (os-instance-actions); resize and revertResize record Nova's several events
        # themselves (tests/api/test_server_resize.py lists them)
        assert rule.record and (rule.event or name in {"resize", "revert_resize"}), name
        if name in settled:
            assert (rule.replay, rule.interrupted, rule.done) == (None, (), None), name
            assert {rule.task} - {None} <= {*states.RESIZE_TASKS, states.RESIZE_REVERTING, *states.SHELVE_TASKS}, name
            assert not {rule.task} & set(states.ABANDONED_TASKS), name
            continue
        if name in with_request:
            assert (rule.replay, rule.interrupted) == (None, ()), name
            assert {rule.task, rule.started} - {None} <= set(states.ABANDONED_TASKS), name
            continue
        if rule.task is None:  # a stateless action (crash dump): nothing to show, nothing to replay
            assert (rule.done, rule.replay, rule.interrupted, rule.started) == (None, None, (), None), name
            assert rule.allowed and rule.expected == (None,), name
            continue
        assert rule.replay in states.ACTIONS, name
        assert rule.task in rule.interrupted and (rule.started is None or rule.started in rule.interrupted), name
        assert rule.allowed and None in rule.expected, name
        assert rule.done[0] in states.STATUS_MAP, name


def test_interrupted_task_states_name_one_action_each():
    owners: dict[str, str] = {}
    for name, rule in states.ACTIONS.items():
        for task in rule.interrupted:
            assert task not in owners, (task, owners.get(task), name)
            owners[task] = name
    assert set(states.SOFT_REBOOT_TASKS) | set(states.HARD_REBOOT_TASKS) <= set(owners)
    assert not set(owners) & (set(states.BUILD_TASKS) | {states.DELETING})  # those have their own recovery


@pytest.mark.parametrize("task_state, replay", [
    (states.REBOOTING, "reboot_hard"), (states.REBOOT_PENDING, "reboot_hard"), (states.REBOOT_STARTED, "reboot_hard"),
    (states.REBOOTING_HARD, "reboot_hard"), (states.REBOOT_STARTED_HARD, "reboot_hard"),
    (states.POWERING_OFF, "stop"), (states.POWERING_ON, "start"),
    (None, None), (states.SPAWNING, None), (states.DELETING, None),
])
def test_interrupted_action(task_state, replay):
    assert states.interrupted_action(task_state) == replay


def test_actions_keep_novas_allowed_states():
    assert states.ACTIONS["reboot"].allowed == (states.ACTIVE,)
    assert set(states.ACTIONS["reboot_hard"].allowed) == {states.ACTIVE, states.STOPPED, states.PAUSED_VM,
                                                          states.SUSPENDED_VM, states.ERROR}
    assert states.ACTIONS["start"].allowed == (states.STOPPED,)
    assert set(states.ACTIONS["stop"].allowed) == {states.ACTIVE, states.ERROR}
    # a hard reboot may take over a soft one in flight, and a hard one before it has started (Nova)
    assert set(states.ACTIONS["reboot_hard"].expected) == {None, *states.SOFT_REBOOT_TASKS,
                                                           states.REBOOT_PENDING_HARD, states.REBOOT_STARTED_HARD}
    assert states.ALLOWED["update_metadata"] == (states.ACTIVE, states.PAUSED_VM, states.SUSPENDED_VM,
                                                 states.STOPPED)
