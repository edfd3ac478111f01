"""Interface and namespace names of the host networking adapter (pure)."""
from __future__ import annotations

from pathlib import Path

import pytest

from nodecompute.hostnet import DaemonNames, bridge_name, daemon_prefix, dhcp_leg_name, gateway_leg_name, \
    router_leg_name, tap_name

PORT = "cd9f6d46-4a3b-4f1e-9c1e-2f3a4b5c6d7e"
NETWORK = "3cb9bc59-5699-4588-a4b1-b87f96708bc6"


def test_interface_names_are_novas_and_neutrons_and_fit_ifnamsiz():
    assert tap_name(PORT) == "tapcd9f6d46-4a"  # Nova's network_data.json example link id
    assert bridge_name(NETWORK) == "brq3cb9bc59-56"
    assert (dhcp_leg_name(PORT), router_leg_name(PORT), gateway_leg_name(PORT)) == \
        ("ns-cd9f6d46-4a", "qr-cd9f6d46-4a", "qg-cd9f6d46-4a")
    for make in (tap_name, bridge_name, dhcp_leg_name, router_leg_name, gateway_leg_name):
        assert len(make(PORT)) == 14 <= 15


@pytest.mark.parametrize("bad", ["", "short", "../../etc/passwd", "abc def ghijkl", "-leading-dash-x", "a/b" * 6])
def test_names_refuse_what_is_not_an_id(bad):
    with pytest.raises(ValueError):
        tap_name(bad)
    with pytest.raises(ValueError):
        DaemonNames("nc1").dhcp_namespace(bad)


def test_everything_not_taken_from_an_id_carries_the_daemon_prefix():
    names = DaemonNames("nc1a2b3c4d")
    assert names.dhcp_namespace(NETWORK) == f"nc1a2b3c4d-qdhcp-{NETWORK}"
    assert names.router_namespace(NETWORK) == f"nc1a2b3c4d-qrouter-{NETWORK}"
    assert names.nat_table == "nc1a2b3c4d-router"
    assert names.dhcp_dir_name(NETWORK) == f"nc1a2b3c4d-dhcp-{NETWORK}"
    assert names.dhcp_namespace(NETWORK).startswith(names.dhcp_namespace_start)
    assert names.router_namespace(NETWORK).startswith(names.router_namespace_start)


@pytest.mark.parametrize("bad", ["", "x", "1abc", "Abc", "ab-c", "a" * 17])
def test_daemon_prefix_is_short_lowercase(bad):
    with pytest.raises(ValueError):
        DaemonNames(bad)


def test_daemon_prefix_is_stable_per_data_directory_and_differs_between_them():
    one = daemon_prefix(Path("/var/lib/nodecompute"))
    assert one == daemon_prefix(Path("/var/lib/nodecompute/"))
    assert one != daemon_prefix(Path("/var/lib/other"))
    assert DaemonNames(one).prefix == one and len(one) == 10
