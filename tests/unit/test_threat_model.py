"""The threat model names tests that exist and is reachable from the docs' index and README."""

from __future__ import annotations

import re

from tests.docs_commands import ROOT

PAGE = ROOT / "docs" / "threat-model.md"


def test_every_test_the_threat_model_names_exists() -> None:
    named = set(re.findall(r"`(tests/[\w/]+\.py)`", PAGE.read_text()))
    assert len(named) >= 15
    assert sorted(p for p in named if not (ROOT / p).is_file()) == []


def test_the_threat_model_is_linked_from_the_index_the_readme_and_the_site() -> None:
    assert "(threat-model.md)" in (ROOT / "docs" / "index.md").read_text()
    assert "(docs/threat-model.md)" in (ROOT / "README.md").read_text()
    assert "threat-model.md" in (ROOT / "mkdocs.yml").read_text()
    assert "(threat-model.md)" in (ROOT / "docs" / "rest-api.md").read_text()
