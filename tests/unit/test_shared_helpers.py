"""The helpers every face shares instead of its own copy: the API time format, the page size, the id in a
reference, and the context nodecompute acts under on its own."""
from __future__ import annotations

from datetime import datetime

import pytest

from nodecompute.api import validation
from nodecompute.domain.models import AuthContext, id_from_ref, isotime, zulu

WHEN = datetime(2024, 1, 2, 3, 4, 5, 678000)


def test_time_formats():
    assert zulu(WHEN) == "2024-01-02T03:04:05Z"
    assert zulu(WHEN, micro=True) == "2024-01-02T03:04:05.678000Z"
    assert isotime(WHEN) == "2024-01-02T03:04:05.678000"


@pytest.mark.parametrize("limit, size", [(0, 1000), (1, 1), (999, 999), (1000, 1000), (5000, 1000)])
def test_page_size(limit, size):
    assert validation.page_size(limit) == size == min(size, validation.MAX_LIMIT)


@pytest.mark.parametrize("ref, found", [
    ("42", "42"), (42, "42"), ("http://h/compute/v2.1/flavors/42", "42"), ("http://h/compute/flavors/42/", "42"),
    ("/images/155d900f-4e14-4e4c-a73d-069cbf4541e6", "155d900f-4e14-4e4c-a73d-069cbf4541e6"),
    ("http://h/images/abc?x=1#y", "abc"), ("", ""),
])
def test_id_from_ref(ref, found):
    assert id_from_ref(ref) == found


def test_the_system_context_is_an_admin_no_token_carries():
    ctx = AuthContext.system("nodecompute-cli", WHEN, "p1")
    assert (ctx.user_id, ctx.user_name, ctx.audit_id, ctx.project_id) == ("nodecompute-cli",) * 3 + ("p1",)
    assert ctx.is_admin and ctx.can_write and ctx.expires_at == ctx.issued_at == WHEN
