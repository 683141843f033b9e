"""README.md and the MkDocs site in docs/: the site builds strictly, and every command line
shown is claimed by exactly one test (tests/docs_commands.py says which)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml
from markdown.extensions.toc import slugify

from tests.docs_commands import (
    LAB,
    PAGES,
    ROOT,
    blocks,
    command_lines,
    lab_tests,
    runners,
)

README = ROOT / "README.md"

#: Fenced block languages the docs use; command lines live only in `console` and `sh`.
LANGUAGES = {"console", "sh", "yaml", "python", "text"}
#: A line that looks like a command (outside console/sh blocks it would escape the check).
LOOKS_LIKE_A_COMMAND = re.compile(
    r"^\s*(\$ |sdn-shadow [a-z-]|scripts/\w|curl |mn |ovs-vsctl |ovs-ofctl |sudo |\.venv/bin/)")


ALL_LINES = command_lines()


# --- the site ------------------------------------------------------------------------------


def test_every_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["theme"]["name"] in ("mkdocs", "readthedocs"), "built-in themes only"
    listed = [next(iter(entry.values())) for entry in config["nav"]]
    assert sorted(listed) == sorted(p.name for p in (ROOT / "docs").glob("*.md"))


def test_readme_is_a_front_page() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines (at most 300)"
    first_commands = [line.strip() for line in lines if line.strip().startswith("scripts/")][:2]
    assert first_commands == ["scripts/demo", "scripts/test"]


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)
    return {slugify(m.group(1).strip(), "-") for m in re.finditer(r"^#+ (.+)$", text, re.M)}


def test_readme_links_resolve() -> None:
    links = re.findall(r"\]\(([^)\s]+)\)", README.read_text())
    assert links
    for link in links:
        if re.match(r"^[a-z]+://", link):
            continue
        target, _, anchor = link.partition("#")
        path = ROOT / target
        assert path.exists(), f"README.md links to {link}: no such file"
        if anchor:
            assert anchor in _anchors(path), f"README.md links to {link}: no such heading"


def test_docs_read_nothing_outside_the_repository() -> None:
    for line in ALL_LINES:
        assert "../" not in line.command, f"{line.page}:{line.lineno}: {line.command}"


# --- command lines ------------------------------------------------------------------------


def test_code_blocks_have_a_known_language_and_commands_only_in_console_or_sh() -> None:
    for page in PAGES:
        for block in blocks(page):
            where = f"{block.page}:{block.lineno}"
            assert block.language in LANGUAGES, f"{where}: fence language {block.language!r}"
            if block.language in ("console", "sh"):
                continue
            for line in block.lines:
                assert not LOOKS_LIKE_A_COMMAND.match(line), (
                    f"{where}: a command line outside a console block escapes the check: "
                    f"{line.strip()}")
            if block.language == "yaml":
                yaml.safe_load("\n".join(block.lines))


def test_console_blocks_start_with_a_command() -> None:
    for page in PAGES:
        for block in blocks(page):
            if block.language == "console":
                first = next(line for line in block.lines if line.strip())
                assert first.startswith("$ "), f"{block.page}:{block.lineno}: {first}"


def test_every_command_line_is_claimed_by_exactly_one_runner() -> None:
    assert len(ALL_LINES) >= 40, "the collection lost the docs' command lines"
    problems = []
    for line in ALL_LINES:
        claims = runners(line.command)
        if len(claims) != 1:
            problems.append(f"{line.page}:{line.lineno}: {line.command!r} is claimed by "
                            f"{claims or 'no runner'}")
        if line.command.endswith("\\"):
            problems.append(f"{line.page}:{line.lineno}: continued lines are not checked")
    assert not problems, "\n".join(problems)


def test_every_lab_runner_exists_and_reads_its_lines_from_the_docs() -> None:
    used = {test for line in ALL_LINES for test in lab_tests(line.command)}
    assert used == set(LAB.values()), f"LAB entries no docs line uses: {set(LAB.values()) - used}"
    for test in sorted(used):
        path, name = test.split("::")
        source = (ROOT / path).read_text()
        functions = {node.name for node in ast.walk(ast.parse(source))
                     if isinstance(node, ast.FunctionDef)}
        assert name in functions, f"{test}: no such test function"
        assert re.search(rf"lines_for\(\s*[\"']{name}[\"']", source), (
            f"{test} does not read its command lines with lines_for({name!r})")


