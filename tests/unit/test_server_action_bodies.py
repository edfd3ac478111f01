"""The pure parse functions of api/server_actions.py: a schema-valid action body -> its request object."""
from __future__ import annotations

import pytest

from nodecompute.api import server_actions
from nodecompute.domain import states
from nodecompute.domain.server_models import ActionRequest, ConsoleOutputRequest


@pytest.mark.parametrize("kind, action", [("SOFT", "reboot"), ("soft", "reboot"), ("HARD", "reboot_hard"),
                                          ("Hard", "reboot_hard")])
def test_reboot_type_picks_the_action(kind, action):
    assert server_actions.parse_reboot({"reboot": {"type": kind}}) == ActionRequest(action)


def test_start_and_stop():
    assert server_actions.parse_start({"os-start": None}) == ActionRequest("start")
    assert server_actions.parse_stop({"os-stop": None}) == ActionRequest("stop")


@pytest.mark.parametrize("body, length", [({}, None), ({"length": None}, None), ({"length": -1}, None),
                                          ({"length": "-1"}, None), ({"length": 0}, 0), ({"length": "5"}, 5),
                                          ({"length": 20}, 20)])
def test_console_output_length(body, length):
    assert server_actions.parse_console_output({"os-getConsoleOutput": body}) == ConsoleOutputRequest(length)


def test_every_state_action_parses_to_a_row_of_the_states_table():
    bodies = {"reboot": {"reboot": {"type": "HARD"}}, "os-start": {"os-start": None}, "os-stop": {"os-stop": None}}
    parsers = {"reboot": server_actions.parse_reboot, "os-start": server_actions.parse_start,
               "os-stop": server_actions.parse_stop}
    for key, body in bodies.items():
        assert key in server_actions.ACTIONS
        assert parsers[key](body).action in states.ACTIONS
