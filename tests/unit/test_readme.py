"""The README stands on its own (issue 7): a clone has no ../shared/, so it names nothing outside the repository,
and each of its links resolves to a file of the repository."""
from __future__ import annotations

import re

from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def test_readme_names_nothing_outside_the_repository():
    assert "../" not in README
    assert "operations.md" not in README


def test_readme_links_resolve_and_reach_the_api_document():
    links = [target for target in re.findall(r"\]\(([^)#\s]+)", README) if "://" not in target]
    assert "docs/api.md" in links
    for target in links:
        assert (REPO / target).exists(), target
