"""Config loading: every key documented in config.example.toml, wrong keys and values stop with the key's name."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from nodecompute import config
from tests.conftest import REPO

EXAMPLE = REPO / "config.example.toml"


def _all_keys(cfg_cls=config.Config, prefix=""):
    for f in dataclasses.fields(cfg_cls):
        if dataclasses.is_dataclass(f.default_factory() if f.default_factory is not dataclasses.MISSING else None):
            yield from _all_keys(type(f.default_factory()), f"{f.name}.")
        else:
            yield prefix + f.name


def test_example_documents_every_key():
    text = EXAMPLE.read_text()
    for key in _all_keys():
        name = key.split(".")[-1]
        assert f"\n{name} = " in text or f"\n# {name} = " in text, f"{key} is not in config.example.toml"


def test_example_loads_to_the_defaults():
    loaded = config.load(EXAMPLE)
    assert loaded == config.Config(data_dir=loaded.data_dir)


def test_every_example_key_is_known():
    raw = tomllib.loads(EXAMPLE.read_text())
    config.from_dict(raw)  # raises on any unknown key


@pytest.mark.parametrize("raw, needle", [
    ({"server": {"listen_prot": 1}}, "[server] listen_prot: unknown key"),
    ({"server": {"listen_port": "80"}}, "[server] listen_port: expected an integer"),
    ({"server": {"listen_port": 70000}}, "[server] listen_port: must be at most 65535"),
    ({"server": {"public_url": "ftp://x"}}, "[server] public_url"),
    ({"compute": {"virt_type": "xen"}}, "[compute] virt_type: must be one of auto, kvm, qemu"),
    ({"compute": {"force_config_drive": "yes"}}, "[compute] force_config_drive: expected true or false"),
    ({"identity": {"token_ttl": 5}}, "[identity] token_ttl: must be at least 60"),
    ({"quota": {"cores": -2}}, "[quota] cores: must be at least -1"),
    ({"nonsense": 1}, "nonsense: unknown key"),
    ({"log_level": "LOUD"}, "log_level: must be one of"),
    ({"console": {"allowed_origins": "example.org"}}, "[console] allowed_origins: expected a list"),
    ({"console": {"allowed_origins": ["ok", 3]}}, "[console] allowed_origins: expected a list"),
    ({"console": {"novncproxy_port": 65536}}, "[console] novncproxy_port: must be at most 65535"),
    ({"console": {"vncauth_port_min": 26000, "vncauth_port_max": 25999}},
     "[console] vncauth_port_min: must not exceed vncauth_port_max"),
    ({"console": {"vncauth_window": 0}}, "[console] vncauth_window: must be at least 1"),
    ({"network": {"enabled": "yes"}}, "[network] enabled: must be one of auto, true, false"),
    ({"network": {"subnet_ranges": ["10.0.0.0/33"]}}, "[network] subnet_ranges: '10.0.0.0/33' is not an IPv4"),
    ({"network": {"subnet_ranges": ["fd00::/8"]}}, "[network] subnet_ranges: 'fd00::/8' is not an IPv4"),
    ({"network": {"dns_servers": ["dns.example"]}}, "[network] dns_servers: 'dns.example' is not an IP address"),
    ({"k5": {"image_jobs_max_active": 0}}, "[k5] image_jobs_max_active: must be at least 1"),
    ({"k5": {"object_root": 5}}, "[k5] object_root: expected a string"),
    ({"network": {"mtu": 9001}}, "[network] mtu: must be at most 9000"),
    ({"network": {"mtu": 67}}, "[network] mtu: must be at least 68"),
    ({"network_quota": {"port": -2}}, "[network_quota] port: must be at least -1"),
])
def test_wrong_keys_and_values_name_the_key(raw, needle):
    with pytest.raises(config.ConfigError) as info:
        config.from_dict(raw)
    assert needle in str(info.value)


def test_network_enabled_takes_a_boolean_too():
    assert config.from_dict({"network": {"enabled": True}}).network.enabled == "true"
    assert config.from_dict({"network": {"enabled": False}}).network.enabled == "false"
    assert config.from_dict({}).network.enabled == "auto"


def test_derived_values(tmp_path):
    cfg = config.from_dict({"data_dir": str(tmp_path), "server": {"listen_host": "0.0.0.0", "listen_port": 9000}})
    assert cfg.public_url == "http://127.0.0.1:9000"
    assert cfg.libvirt_uri == f"qemu:///embed?root={tmp_path}/libvirt"
    cfg = config.from_dict({"server": {"public_url": "https://cloud.example.org/"}})
    assert cfg.public_url == "https://cloud.example.org"


def test_console_values(tmp_path):
    cfg = config.from_dict({})
    assert cfg.novnc_dir == Path(sys.prefix) / "share" / "novnc"  # where scripts/setup.sh unpacks noVNC
    assert (cfg.console.novncproxy_port, cfg.console.serialproxy_port, cfg.console.token_ttl) == (6080, 6083, 600)
    cfg = config.from_dict({"console": {"novnc_dir": str(tmp_path), "allowed_origins": ["a.example", "b.example"]}})
    assert cfg.novnc_dir == tmp_path
    assert cfg.console.allowed_origins == ("a.example", "b.example")


def test_config_check_command_names_the_bad_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[compute]\nvirt_typo = "qemu"\n')
    result = subprocess.run([sys.executable, "-m", "nodecompute", "--config", str(bad), "config", "check"],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "[compute] virt_typo: unknown key" in result.stderr
    result = subprocess.run([sys.executable, "-m", "nodecompute", "--config", str(EXAMPLE), "config", "check"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "config OK" in result.stdout


@pytest.mark.parametrize("server, warned", [
    ({}, False),
    ({"listen_host": "127.0.0.2"}, False),
    ({"listen_host": "::1"}, False),
    ({"listen_host": "localhost"}, False),
    ({"listen_host": "0.0.0.0"}, True),
    ({"listen_host": "192.0.2.10"}, True),
    ({"listen_host": "cloud.example.org"}, True),
    ({"listen_host": "0.0.0.0", "public_url": "http://cloud.example.org:8774"}, False),
])
def test_warning_when_listening_beyond_loopback_without_public_url(server, warned):
    found = config.warnings(config.from_dict({"server": server}))
    assert bool(found) == warned
    if warned:
        assert "public_url is empty" in found[0] and "Host header" in found[0]


def test_config_check_command_prints_the_warning(tmp_path):
    path = tmp_path / "open.toml"
    path.write_text('[server]\nlisten_host = "0.0.0.0"\n')
    result = subprocess.run([sys.executable, "-m", "nodecompute", "--config", str(path), "config", "check"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "config OK" in result.stdout
    assert "warning: [server] listen_host '0.0.0.0' is not a loopback address but public_url is empty" in result.stderr
