"""The command lines README.md and docs/*.md show, and the test that runs each lab one.

A command line is a `$ ` line of a ```console block (the lines after it, up
to the next `$ ` line, are its output) or any line of a ```sh block.
The lines that run anywhere (`LOCAL` patterns) are run by the system test
`BLOCK_RUNNER`; the others by the test `LAB` names (root and the lab, or a
running controller: `integration`), which reads its lines with `lines_for`,
so the line the docs show is the line that runs. `tests/unit/test_docs.py`
checks that every line is claimed by exactly one runner.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
FENCE = re.compile(r"^(`{3,})\s*([\w+-]*)\s*$")

_E2E = "tests/e2e/test_readme_commands.py::"
_API = "tests/integration/test_rest_api_real.py::test_the_docs_api_lines_work_as_written"
_TLS = "tests/integration/test_tls_real.py::test_the_docs_tls_lines_work"

#: A pattern (matched in full against a command line) -> the test that runs such lines.
LAB: dict[str, str] = {
    r"scripts/demo": _E2E + "test_demo_runs_and_prints_its_summary",
    r"scripts/test( --fast)?": _E2E + "test_scripts_test_runs_its_tiers",
    r"scripts/bench --only \w+": _E2E + "test_bench_writes_figures_with_references",
    r"scripts/record-samples --only \w+": _E2E + "test_record_samples_records_what_analyze_finds",
    r"mn --custom .+": _E2E + "test_mn_custom_builds_the_topologies",
    r"sdn-shadow (capture|synth|replay) .+": _E2E + "test_the_lab_commands_run_in_the_lab",
    r"sdn-shadow run .+": _API,
    r"curl .+": _API,
    r"SDN_SHADOW_TOKEN=\$TOKEN sdn-shadow (api|status) .+": _API,
    r"ovs-vsctl set-(ssl|controller) .+": _TLS,
    r"sdn-shadow api --url https://\S+ --cacert .+": _TLS,
    r"sdn-shadow ldap mirror .+":
        "tests/integration/test_ldap_slapd.py::test_the_docs_ldap_command_line_runs",
}


@dataclass(frozen=True)
class Block:
    """A fenced code block: its page (relative to the repository), first line and language."""

    page: str
    lineno: int
    language: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class CommandLine:
    """One command line, where it is shown, and the output shown after it (console blocks)."""

    page: str
    lineno: int
    command: str
    output: tuple[str, ...]
    block: Block


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, in order."""
    found: list[Block] = []
    fence, language, start, body = None, "", 0, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = FENCE.match(line)
        if fence is None and match:
            fence, language, start, body = match.group(1), match.group(2), number, []
        elif fence is not None and line.strip() == fence:
            found.append(Block(str(path.relative_to(ROOT)), start, language, tuple(body)))
            fence = None
        elif fence is not None:
            body.append(line)
    if fence is not None:
        raise ValueError(f"{path}:{start}: code block never closed")
    return found


def block_commands(block: Block) -> list[CommandLine]:
    """The command lines of one block (none unless it is `console` or `sh`)."""
    out: list[CommandLine] = []
    if block.language == "sh":
        for offset, line in enumerate(block.lines, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                out.append(CommandLine(block.page, block.lineno + offset, line.strip(), (),
                                       block))
    elif block.language == "console":
        current: tuple[int, str] | None = None
        shown: list[str] = []
        for offset, line in enumerate(block.lines, 1):
            if line.startswith("$ "):
                if current is not None:
                    out.append(CommandLine(block.page, current[0], current[1], tuple(shown),
                                           block))
                current, shown = (block.lineno + offset, line[2:].strip()), []
            elif current is not None:
                shown.append(line)
        if current is not None:
            out.append(CommandLine(block.page, current[0], current[1], tuple(shown), block))
    return out


def command_lines(pages: tuple[Path, ...] = PAGES) -> list[CommandLine]:
    """Every command line of the pages, in page order."""
    return [line for page in pages for block in blocks(page) for line in block_commands(block)]


def lab_tests(command: str) -> list[str]:
    """The tests in LAB whose pattern matches `command`."""
    return [test for pattern, test in LAB.items() if re.fullmatch(pattern, command)]


def lines_for(test: str) -> list[str]:
    """The distinct command lines LAB gives to the test function named `test`, in page order.

    Raises LookupError when there are none: a runner whose lines left the docs should
    not pass by running nothing."""
    seen: dict[str, None] = {}
    for line in command_lines():
        if any(name.rsplit("::", 1)[1] == test for name in lab_tests(line.command)):
            seen.setdefault(line.command)
    if not seen:
        raise LookupError(f"no command line in README.md or docs/ is run by {test}")
    return list(seen)


def workdir(path: Path) -> Path:
    """`path` made to look like the repository root for the docs' relative paths
    (examples/, tests/, topologies/ linked), so what a command writes lands in `path`."""
    path.mkdir(parents=True, exist_ok=True)
    for name in ("examples", "tests", "topologies"):
        link = path / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    return path


def environment(bin_dir: Path) -> dict[str, str]:
    """os.environ with `bin_dir` (the venv's, where `sdn-shadow` is) first on PATH."""
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


#: The test that runs the LOCAL lines (a system test: one process per line).
BLOCK_RUNNER = "tests/system/test_docs_blocks.py::test_the_block_runs"
#: Command lines that run anywhere (no root, no lab, no controller): run by BLOCK_RUNNER.
LOCAL = (
    r"sdn-shadow (validate|flows|analyze|profile) .+",
    r"sdn-shadow forecast backtest .+",
    r"sdn-shadow template (check|render) .+",
    r"(export TOKEN=\$\()?sdn-shadow token add [^)]+\)?",
    r"sdn-shadow token (list|remove) .+",
    r"sdn-shadow( \S+)* --help",
    r"sed -n '[^']+' examples/templates/web-tier\.yaml \| sed '[^']+' > web\.yaml",
)


def runners(command: str) -> list[str]:
    """Who runs `command`: the docs block runner (LOCAL) and/or the lab tests LAB names."""
    local = [BLOCK_RUNNER] if any(re.fullmatch(p, command) for p in LOCAL) else []
    return local + lab_tests(command)


def is_local(command: str) -> bool:
    """Whether only the docs block runner runs `command`."""
    return runners(command) == [BLOCK_RUNNER]
