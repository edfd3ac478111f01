"""The whole microversion ladder: the steps of microversion_steps_2.py and _3.py in one tuple, the highest complete
microversion, and docs/microversions.md rendered from them (microversion_ladder.py defines the vocabulary).

`highest_complete()` is the highest N such that every step up to N is done, not applicable or owned: the most the
API may advertise (issue 9's rule).
"""
from __future__ import annotations

from nodecompute.api.microversion_ladder import EVERY_ROUTE, Step, Touch
from nodecompute.api.microversion_steps_2 import STEPS as EARLY
from nodecompute.api.microversion_steps_3 import STEPS as LATE
from nodecompute.api.nova_operations import NOVA_MAX_VERSION, version_key


def ladder() -> tuple[Step, ...]:
    return EARLY + LATE


def highest_complete(steps: tuple[Step, ...] | None = None) -> str:
    """The highest N such that every step up to N is done, not applicable or owned ("2.1" if 2.2 is not)."""
    highest = "2.1"
    for step in sorted(steps if steps is not None else ladder(), key=lambda s: version_key(s.version)):
        if not step.complete:
            break
        highest = step.version
    return highest


def _touch_text(touch: Touch) -> str:
    if touch == EVERY_ROUTE:
        return "every route"
    return f"{touch[0]} {touch[1]}" + (f" `{touch[2]}`" if len(touch) > 2 else "")


def _state(step: Step) -> str:
    if step.status == "owned":
        return f"owned by {step.owner}"
    if step.status == "n/a":
        return f"n/a: {step.answer}"
    return step.status + (f" (also {', '.join(step.also)})" if step.also else "")


def render_markdown(steps: tuple[Step, ...] | None = None) -> str:
    """docs/microversions.md: the ladder as a table, and the highest complete microversion."""
    steps = steps if steps is not None else ladder()
    lines = [
        "# Microversions: the ladder from 2.1 to " + NOVA_MAX_VERSION,
        "",
        "Generated from `nodecompute/api/microversion_ladder.py` (do not edit by hand). Every step is done, not",
        "applicable on one host (with what nodecompute answers instead), owned by the later feature that adds its",
        "routes (until then they answer 404 at every version), or still to do.",
        "",
        f"Highest microversion with every step up to it complete: **{highest_complete(steps)}**.",
        "",
        "| version | change | touches | kind | state |",
        "|---|---|---|---|---|",
    ]
    for step in steps:
        touches = "; ".join(_touch_text(touch) for touch in step.touches)
        lines.append(f"| {step.version} | {step.summary} | {touches} | {', '.join(step.kinds)} | {_state(step)} |")
    return "\n".join(lines) + "\n"
