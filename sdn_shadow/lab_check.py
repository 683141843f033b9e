"""The check the lab commands make first: root, and Mininet / Open vSwitch on this machine.

`replay`, `capture` and `synth` open raw sockets on switch ports or enter
Mininet hosts' namespaces; elsewhere they would fail half-way with a
traceback. Each calls `require_lab` before anything else, which prints one
line saying what is missing and gives the exit status instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from typing import TextIO

EXIT_NO_LAB = 2
MININET, OVS = "mnexec", "ovs-vsctl"
PROVIDERS = {MININET: "Mininet", OVS: "Open vSwitch", "nsenter": "util-linux"}

Which = Callable[[str], str | None]


def lab_problems(tools: Sequence[str] = (MININET, OVS), *, euid: int | None = None,
                 which: Which | None = None) -> list[str]:
    """What keeps a lab command from running here: `not root`, `TOOL not found` ([]: nothing).

    `euid` and `which` stand in for `os.geteuid()` and `shutil.which` (tests inject them).
    """
    find = shutil.which if which is None else which
    problems = []
    if (os.geteuid() if euid is None else euid) != 0:
        problems.append("not root")
    problems += [f"{tool} not found" for tool in tools if find(tool) is None]
    return problems


def lab_refusal(command: str, tools: Sequence[str] = (MININET, OVS), *, euid: int | None = None,
                which: Which | None = None) -> str | None:
    """The one line `sdn-shadow COMMAND` prints when it cannot run here; None when it can."""
    problems = lab_problems(tools, euid=euid, which=which)
    if not problems:
        return None
    names = list(dict.fromkeys(PROVIDERS.get(tool, tool) for tool in tools))
    machine = f" on a machine with {' and '.join(names)}" if names else ""
    return f"sdn-shadow {command}: needs the lab: run as root{machine} ({'; '.join(problems)})"


def require_lab(command: str, err: TextIO, tools: Sequence[str] = (MININET, OVS), *,
                euid: int | None = None, which: Which | None = None) -> int | None:
    """None when the lab is here; else print the refusal to `err` and return EXIT_NO_LAB."""
    refusal = lab_refusal(command, tools, euid=euid, which=which)
    if refusal is None:
        return None
    print(refusal, file=err)
    return EXIT_NO_LAB
