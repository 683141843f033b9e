"""The configuration the docs show is one the parser accepts, read as the controller reads a
file (YAML 1.1 quirks included: a bare `on` key is `true`, unquoted MACs may be numbers)."""

from __future__ import annotations

from pathlib import Path

from sdn_shadow.config import parse_config
from sdn_shadow.config.parse import read_document
from tests.docs_commands import blocks

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _documents(page: str, tmp_path: Path) -> list[dict]:
    """Each yaml block of a docs page, read by the controller's YAML loader."""
    out = []
    for block in blocks(DOCS / page):
        if block.language == "yaml":
            path = tmp_path / f"{page}-{block.lineno}.yaml"
            path.write_text("\n".join(block.lines) + "\n")
            out.append(read_document(path))
    return out


def test_the_documented_configuration_example_is_valid(tmp_path: Path) -> None:
    example = _documents("configuration.md", tmp_path)[0]
    config = parse_config(example)
    assert [n.name for n in config.networks] == ["tenant-a"]
    assert config.networks[0].shadow.clients == (("h1", "shadow"),)


def test_the_documented_sections_are_valid_together(tmp_path: Path) -> None:
    """The telemetry, forecast, failover, routing and api sections merged into the example."""
    data: dict = {}
    for document in _documents("configuration.md", tmp_path):
        data.update(document)
    config = parse_config(data)
    assert config.api.listen and config.forecast.horizon == 30


def test_the_documented_detect_block_is_valid(tmp_path: Path) -> None:
    """docs/analytics.md's `shadow.detect` in the example (its baseline capture made real)."""
    data = _documents("configuration.md", tmp_path)[0]
    [detect_doc] = _documents("analytics.md", tmp_path)
    detect = detect_doc["networks"]["tenant-a"]["shadow"]["detect"]
    normal = Path(__file__).resolve().parents[1] / "data" / "pcaps" / "normal"
    detect["baseline"] = [str(normal / "lab_http_users.pcap")]
    data["networks"]["tenant-a"]["shadow"]["detect"] = detect
    parse_config(data)
