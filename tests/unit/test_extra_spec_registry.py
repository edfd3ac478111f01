"""Nova's registry of known extra specs as data (nodecompute/compute/data/nova_extra_specs.json, 2.86): recorded
from one Nova commit, every validator's value rule of a kind Nova has, its parameters named in its name, and the
lookup rules of Nova's validators.validate (exact name, then the patterns, then the known namespaces)."""
from __future__ import annotations

import json
import re

import pytest

from nodecompute.compute import extra_spec_registry as registry
from nodecompute.domain.errors import BadRequest
from tests.conftest import REPO

RECORD = json.loads(registry.DATA.read_text())


def test_the_record_names_its_source_and_holds_hundreds_of_validators():
    nova_commit = (REPO / "tests" / "data" / "nova" / "SOURCE").read_text().split()[1]
    assert RECORD["source"]["nova"] == nova_commit  # the same Nova as the rest of the oracle
    assert len(RECORD["validators"]) > 500
    names = [v["name"] for v in RECORD["validators"]]
    assert len(set(names)) == len(names)
    assert {"hw:cpu_policy", "hw:numa_nodes", "hw_rng:allowed", "os:secure_boot", "quota:cpu_shares"} <= set(names)


def test_every_validator_is_of_a_kind_nova_has():
    for entry in RECORD["validators"]:
        value = entry["value"]
        assert value["type"] in ("int", "str", "bool"), entry
        assert set(value) <= {"type", "enum", "pattern", "min", "max"}, entry
        for parameter in entry.get("parameters", ()):
            assert f"{{{parameter['name']}}}" in entry["name"] and re.compile(parameter["pattern"]), entry
        re.compile(registry._validator(entry).name_regex)


def test_known_namespaces():
    assert {"hw", "hw_rng", "hw_video", "os", "quota", "accel", "capabilities", "pci_passthrough",
            "aggregate_instance_extra_specs", "vmware"} <= set(registry.registry().namespaces)


@pytest.mark.parametrize("name, value", [
    ("hw:cpu_policy", "mixed"), ("hw:numa_mem.1", "512"), ("hw:cpu_realtime", "NO"),
    ("trait:COMPUTE_NET_VIF_MODEL_VIRTIO", "forbidden"),
    ("traitgroup_1:CUSTOM_X", "required"), ("resources:MEMORY_MB", "64"), ("other:thing", "any"), ("plain", "any"),
    ("hw:pci_numa_affinity_policy", "socket"), ("group_policy", "isolate"), ("aggregate_instance_extra_specs:k", "v"),
])
def test_accepted(name, value):
    registry.validate(name, value)


@pytest.mark.parametrize("name, value", [
    ("hw:cpu_policy", "Mixed"), ("hw:numa_nodes", "1.5"), ("hw:cpu_realtime", "maybe"), ("hw:unheard_of", "1"),
    ("trait:CUSTOM_lower", "required"), ("resources:VCPU", "many"), ("group_policy", "spread"), ("hw_rng:nope", "1"),
])
def test_refused(name, value):
    with pytest.raises(BadRequest, match="^Validation failed; "):
        registry.validate(name, value)


def test_numbers_are_checked_as_their_text():
    registry.validate_all({"hw:numa_nodes": 2})
    with pytest.raises(BadRequest, match="'2.5' is not a valid integer value"):
        registry.validate_all({"hw:numa_nodes": 2.5})
