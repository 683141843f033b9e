"""README.md and the MkDocs site in docs/: the site builds strictly, and every command line
shown is run by a test (here, or by the lab test tests/docs_commands.py names)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from markdown.extensions.toc import slugify

from tests.docs_commands import (
    LAB,
    PAGES,
    ROOT,
    Block,
    CommandLine,
    blocks,
    command_lines,
    environment,
    lab_tests,
    workdir,
)

BIN = Path(sys.executable).parent
README = ROOT / "README.md"

#: Command lines that run anywhere (no root, no lab, no controller): run by test_the_block_runs.
LOCAL = (
    r"sdn-shadow (validate|flows|analyze|profile) .+",
    r"sdn-shadow forecast backtest .+",
    r"sdn-shadow template (check|render) .+",
    r"(export TOKEN=\$\()?sdn-shadow token add [^)]+\)?",
    r"sdn-shadow( \S+)* --help",
    r"sed -n '[^']+' examples/templates/web-tier\.yaml \| sed '[^']+' > web\.yaml",
)
#: Fenced block languages the docs use; command lines live only in `console` and `sh`.
LANGUAGES = {"console", "sh", "yaml", "python", "text"}
#: A line that looks like a command (outside console/sh blocks it would escape the check).
LOOKS_LIKE_A_COMMAND = re.compile(
    r"^\s*(\$ |sdn-shadow [a-z-]|scripts/\w|curl |mn |ovs-vsctl |ovs-ofctl |sudo |\.venv/bin/)")


def runners(command: str) -> list[str]:
    """Who runs `command`: 'test_docs' (here) and/or the lab tests LAB names."""
    local = ["test_docs"] if any(re.fullmatch(p, command) for p in LOCAL) else []
    return local + lab_tests(command)


def is_local(command: str) -> bool:
    return runners(command) == ["test_docs"]


ALL_LINES = command_lines()
LOCAL_BLOCKS: list[Block] = list(dict.fromkeys(
    line.block for line in ALL_LINES if is_local(line.command)))


# --- the site ------------------------------------------------------------------------------


def test_mkdocs_builds_the_site_strictly(tmp_path: Path) -> None:
    mkdocs = shutil.which("mkdocs", path=str(BIN))
    assert mkdocs, ("mkdocs is not installed in the venv: scripts/setup installs the `docs` "
                    "extra (pip install -e '.[docs]')")
    proc = subprocess.run([mkdocs, "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
                           "--site-dir", str(tmp_path / "site")], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "index.html").is_file()


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


# --- the lines that run anywhere -----------------------------------------------------------


def matches(shown: list[str], actual: list[str]) -> bool:
    """Whether `actual` is `shown`, a `...` line standing for any number of lines."""
    if not shown:
        return not actual
    if shown[0] == "...":
        return any(matches(shown[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == shown[0] and matches(shown[1:], actual[1:])


def _clean(lines: list[str] | tuple[str, ...]) -> list[str]:
    out = [line.rstrip() for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


def _run(line: CommandLine, cwd: Path) -> str | None:
    """Run one line in `cwd`; what went wrong, or None."""
    proc = subprocess.run(["bash", "-c", f"set -euo pipefail\n{line.command}"], cwd=cwd,
                          env=environment(BIN), capture_output=True, text=True, timeout=180)
    where = f"{line.page}:{line.lineno}: {line.command}"
    if proc.returncode != 0:
        return f"{where}\nexit {proc.returncode}\n{proc.stderr[-3000:]}"
    shown = _clean(line.output)
    actual = _clean(proc.stdout.splitlines())
    if shown and not matches(shown, actual):
        return (f"{where}\nthe docs show:\n" + "\n".join(shown) + "\n\nit prints:\n"
                + "\n".join(actual))
    return None


def _run_block(block: Block, tmp: Path) -> str | None:
    """A block's local lines, in order, in a folder like the repository root (lab lines in
    the block run in their own tests); the first problem, or None."""
    cwd = workdir(tmp)
    for line in ALL_LINES:
        if line.block == block and is_local(line.command):
            problem = _run(line, cwd)
            if problem:
                return problem
    return None


@pytest.fixture(scope="module")
def block_results(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> dict[Block, str | None]:
    """Every selected block run at once (each line is a process of its own: CPU-bound
    start-up, so they share the cores); block -> its problem or None."""
    selected = [item.callspec.params["block"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_the_block_runs"
                and item.path == Path(__file__)]
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {block: pool.submit(_run_block, block, tmp_path_factory.mktemp("block"))
                   for block in dict.fromkeys(selected)}
        return {block: future.result() for block, future in futures.items()}


@pytest.mark.parametrize("block", LOCAL_BLOCKS, ids=[f"{b.page}:{b.lineno}" for b in LOCAL_BLOCKS])
def test_the_block_runs(block: Block, block_results: dict[Block, str | None]) -> None:
    """Each local line of the block exits 0 and prints what the block shows (`...`: any
    lines)."""
    problem = block_results[block]
    assert problem is None, problem
