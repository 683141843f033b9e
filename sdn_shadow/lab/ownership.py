"""Which lab bridges a run made, and reclaiming those a run that died left behind.

Open vSwitch keeps its bridges in its database across a crash or a reboot,
so a lab run that was killed leaves bridges named s1, s2, ... that block the
next run. Each run tags the bridges it made with its owner (boot id, pid and
the pid's start time) and the Mininet host shells it started. A bridge whose
owner is no longer running, on this boot, is stale: the next run removes it
and ends the host shells recorded with it (checked by pid and start time, so
never another process that got the pid since), and deletes the kernel links
that were its ports: a link between two switches has both ends in the root
namespace, so it outlives the run and would block the next one's link of the
same name. A bridge without the tag, or whose owner still runs, is never
touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from sdn_shadow.ovsdb import vsctl

OWNER_KEY = 'sdn-shadow-owner'
SHELLS_KEY = 'sdn-shadow-shells'


def boot_id() -> str:
    """This boot's id (a new one after every reboot)."""
    return Path('/proc/sys/kernel/random/boot_id').read_text().strip()


def started_at(pid: int) -> str | None:
    """The start time of process `pid` in clock ticks since boot (None: no such process)."""
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        return None
    return stat.rsplit(')', 1)[1].split()[19]  # field 22; the name may hold spaces


def process_tag(pid: int) -> str:
    """`pid` as a tag that no later process can match: boot id, pid and start time."""
    return f'{boot_id()}/{pid}/{started_at(pid)}'


def tag_alive(tag: str) -> bool:
    """Whether the process a `process_tag` names still runs."""
    try:
        boot, pid, start = tag.split('/')
        return boot == boot_id() and started_at(int(pid)) == start
    except ValueError:
        return False


def claim(bridges: list[str], shell_pids: list[int]) -> None:
    """Tag `bridges` as this process's, with the host shells that go with them."""
    shells = ','.join(process_tag(pid) for pid in shell_pids)
    for name in bridges:
        vsctl('set', 'bridge', name, f'external_ids:{OWNER_KEY}="{process_tag(os.getpid())}"',
               f'external_ids:{SHELLS_KEY}="{shells}"')


def owner(bridge: str) -> str | None:
    """The owner tag of `bridge` (None: untagged, or no such bridge)."""
    value = vsctl('--if-exists', 'get', 'bridge', bridge, f'external_ids:{OWNER_KEY}')
    return value.strip().strip('"') or None


def reclaim_stale(bridges: list[str]) -> list[str]:
    """Remove those of `bridges` whose owning run is gone (and its host shells); which went."""
    removed = []
    for name in bridges:
        tag = owner(name)
        if tag is None or tag_alive(tag):
            continue
        shells = vsctl('--if-exists', 'get', 'bridge', name,
                       f'external_ids:{SHELLS_KEY}').strip().strip('"')
        for shell in filter(None, shells.split(',')):
            if tag_alive(shell):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(shell.split('/')[1]), signal.SIGKILL)
        ports = vsctl('list-ports', name).split()
        vsctl('--if-exists', 'del-br', name)
        for port in ports:
            delete_link(port)
        removed.append(name)
    return removed


def delete_link(name: str) -> None:
    """Delete kernel link `name` in this namespace if it is there (a veth takes its peer along)."""
    if Path('/sys/class/net', name).exists():
        subprocess.run(['ip', 'link', 'del', name], capture_output=True, timeout=20, check=False)
