"""The microversion ladder (nodecompute/api/microversion_ladder.py) checked as data: one step per version from 2.2 to
Nova's maximum, each touching real catalog operations, each todo, done, not applicable (with its answer) or owned by
a named feature consistently with what it touches; and docs/microversions.md is what render_markdown() writes."""
from __future__ import annotations

import json

import pytest

from nodecompute.api import microversion_ladder as ladder_module
from nodecompute.api.microversion_ladder import (EVERY_ROUTE, KINDS, OWNERS, SERVED, STATUSES, Change, Step,
                                                 feature_of)
from nodecompute.api.microversion_steps import highest_complete, ladder, render_markdown
from nodecompute.api import versions
from nodecompute.api.catalog import served_by
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.nova_catalog import CATALOG, find
from nodecompute.api.nova_operations import NOVA_MAX_VERSION, path_shape, version_key
from tests.conftest import REPO

STEPS = ladder()
NOVA = json.loads((REPO / "tests" / "data" / "nova" / "routes.json").read_text())


def _operation(touch):
    return find(touch[0], touch[1], touch[2] if len(touch) > 2 else None)


def test_every_version_from_2_2_to_novas_maximum_once_in_order():
    assert NOVA_MAX_VERSION == NOVA["max_version"] == "2.104"
    versions = [step.version for step in STEPS]
    assert versions == [f"2.{minor}" for minor in range(2, 105)]
    assert versions == [v for v in NOVA["versions"] if v != "2.1"]


def test_each_step_is_described_and_has_changes_of_known_kinds():
    for step in STEPS:
        assert step.summary and "|" not in step.summary, step.version
        assert step.changes, step.version
        for change in step.changes:
            assert change.kind in KINDS, step.version
            assert change.touches, step.version
            assert len(set(change.touches)) == len(change.touches), step.version


def test_every_touch_is_a_catalog_operation_in_range_around_the_step():
    for step in STEPS:
        for touch in step.touches:
            if touch == EVERY_ROUTE:
                continue
            operation = _operation(touch)
            assert operation is not None, (step.version, touch)
            # a step touches an operation that exists just before it (removed, changed) or from it on (new)
            assert operation.available_at(step.version) or operation.max_version is not None and version_key(
                operation.max_version) < version_key(step.version), (step.version, touch)


def test_new_and_removed_routes_match_the_catalog_ranges():
    for step in STEPS:
        for change in step.changes:
            for touch in change.touches:
                operation = _operation(touch)
                if change.kind == "new-route":
                    assert operation.min_version == step.version, (step.version, touch)
                if change.kind == "removed-route":
                    assert version_key(operation.max_version)[1] + 1 == version_key(step.version)[1], touch


def test_status_owner_and_answer_are_consistent():
    for step in STEPS:
        assert step.status in STATUSES, step.version
        assert set(step.also) <= set(OWNERS), step.version
        features = {feature_of(touch) for touch in step.touches} - {None}
        served = [touch for touch in step.touches if touch in SERVED or touch == EVERY_ROUTE]
        if step.status == "owned":
            assert step.owner in OWNERS and not step.answer, step.version
            assert features <= {step.owner, *step.also}, step.version
            behaviour_only = all(change.kind == "behaviour" for change in step.changes)
            assert not served or behaviour_only, (step.version, served)
        elif step.status == "n/a":
            assert step.answer and step.owner is None, step.version
        else:
            assert step.owner is None and not step.answer, step.version
            assert served, f"{step.version} is {step.status} but touches no served route"
            assert features <= set(step.also), (step.version, features)


def test_steps_owned_by_each_feature_are_the_ones_issues_name():
    owned = {step.version: step.owner for step in STEPS if step.status == "owned"}
    assert owned["2.31"] == "consoles"  # 2.6 and 2.8 are done (remote consoles, issue 21)
    assert "host-views" not in owned.values()  # issue 12 is served whole
    assert not {"2.85", "2.103"} & set(owned)  # done: the attachment PUT, os-volumes_boot's create (#204) to 2.102
    assert not {"2.54", "2.77", "2.91"} & set(owned)  # 2.45, 2.54 (rebuild), 2.77 and 2.91 (unshelve) are done
    assert not {"2.87", "2.93"} & set(owned)  # volume-backed rescue and re-imaging rebuild are done (issue 20)
    not_applicable = {step.version for step in STEPS if step.status == "n/a"}
    assert {"2.69", "2.41", "2.81"} <= not_applicable
    assert not [step.version for step in STEPS if step.status == "todo"]  # the ladder is complete up to 2.104
    done = {step.version for step in STEPS if step.status == "done"}
    assert {"2.2", "2.6", "2.7", "2.8", "2.10", "2.18", "2.27", "2.35", "2.36", "2.39", "2.46", "2.50"} <= done
    assert {"2.20", "2.49", "2.70", "2.79", "2.85", "2.89", "2.101"} <= done  # volume attachments (issue 20)
    assert {"2.3", "2.9", "2.16", "2.19", "2.26", "2.37", "2.38", "2.47", "2.52"} <= done  # the server routes
    assert {"2.54", "2.55", "2.57", "2.60", "2.61", "2.63", "2.66", "2.67", "2.71", "2.73", "2.74"} <= done
    assert {"2.86", "2.90", "2.92", "2.94", "2.96", "2.98", "2.99", "2.100", "2.102", "2.104"} <= done  # issue 10
    assert {"2.11", "2.13", "2.15", "2.28", "2.53", "2.23", "2.40", "2.48", "2.59", "2.64", "2.80", "2.88"} <= done
    assert {"2.14", "2.22", "2.24", "2.25", "2.29", "2.30", "2.34", "2.43", "2.56", "2.65", "2.68", "2.95"} <= done


def test_served_set_names_catalog_operations():
    assert all(_operation(touch) is not None for touch in SERVED)


def test_served_set_is_what_the_route_table_serves():
    """A feature that adds a route adds it to SERVED too (and moves the steps touching it from owned to todo)."""
    table = set()
    for op in CATALOG:
        if op.base == "/v2.1" and served_by(op, OPENSTACK.routes) is not None:
            table.add((op.method, path_shape(op.path)) + ((op.action,) if op.action else ()))
    assert {(touch[0], path_shape(touch[1]), *touch[2:]) for touch in SERVED} == table


def _step(version, status, owner=None):
    return Step(version, "s", (Change("behaviour", (EVERY_ROUTE,)),), status, owner)


@pytest.mark.parametrize("statuses, highest", [
    ((), "2.1"),
    (("todo", "done"), "2.1"),
    (("done", "n/a", "owned", "todo", "done"), "2.4"),
    (("done", "owned", "n/a"), "2.4"),
])
def test_highest_complete(statuses, highest):
    steps = tuple(_step(f"2.{index + 2}", status, "volumes" if status == "owned" else None)
                  for index, status in enumerate(statuses))
    assert highest_complete(steps) == highest


def test_the_advertised_maximum_is_at_most_the_highest_complete_step():
    """Issue 9's rule: the API never advertises a microversion above the highest N for which every step up to N is
    done, not applicable or owned by a feature whose routes are not served (read from the code: the /v2.1 root
    of the openstack dialect and the version documents share versions.MICROVERSIONS)."""
    advertised = versions.MICROVERSIONS.max
    assert OPENSTACK.microversions == versions.MICROVERSIONS
    assert advertised <= version_key(highest_complete()), (
        f"2.{advertised[1]} is advertised but the ladder is complete only up to {highest_complete()}: "
        f"{[s.version for s in STEPS if not s.complete and version_key(s.version) <= advertised]} are not done")


def test_docs_microversions_md_is_current():
    assert (REPO / "docs" / "microversions.md").read_text() == render_markdown(), (
        "docs/microversions.md is stale: regenerate it with "
        ".venv/bin/python -c 'from nodecompute.api.microversion_steps import render_markdown as r; "
        "open(\"docs/microversions.md\", \"w\").write(r())'")


def test_render_shows_each_state():
    text = render_markdown()
    assert "| 2.2 |" in text and "| done |" in text
    assert "owned by consoles" in text and "n/a: " in text
    assert f"**{highest_complete()}**" in text
    assert ladder_module.__doc__
