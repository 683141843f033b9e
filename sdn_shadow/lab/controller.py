"""Run the sdn-shadow controller as a child process and follow its JSON state file."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1


class ControllerError(RuntimeError):
    """The controller process exited, or did not reach the awaited state in time."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask the kernel to SIGTERM the child when the process that started it dies."""
    with contextlib.suppress(OSError):
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a controller state file; {} when it is missing or not (yet) valid JSON."""
    try:
        with open(path, encoding='utf-8') as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def unsynced(state: dict[str, Any], dpids: Iterable[int], pid: int | None = None) -> list[int]:
    """Return the dpids not yet connected and synced in state (all of them if pid differs)."""
    wanted = list(dpids)
    if pid is not None and state.get('pid') != pid:
        return wanted
    switches = state.get('switches') or {}
    missing = []
    for dpid in wanted:
        sw = switches.get(str(dpid)) or {}
        if not (sw.get('connected') and sw.get('synced')):
            missing.append(dpid)
    return missing


class ControllerProcess:
    """`python -m sdn_shadow.cli run ...` as a child process; only ever signals its own pid.

    Use as a context manager (start on enter, stop on exit) or call start()/stop().
    The child also gets SIGTERM if the process (thread) that started it dies.
    """

    def __init__(self, config_path: str | os.PathLike[str], of_port: int,
                 state_file: str | os.PathLike[str], log_path: str | os.PathLike[str], *,
                 extra_args: Sequence[str] = (), module: str = 'sdn_shadow.cli',
                 env: dict[str, str] | None = None) -> None:
        """Describe the controller to run; nothing starts until start() or `with`."""
        self.config_path = str(config_path)
        self.of_port = int(of_port)
        self.state_file = str(state_file)
        self.log_path = str(log_path)
        self.extra_args = list(extra_args)
        self.module = module
        self.env = env
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def argv(self) -> list[str]:
        """The command line the controller is started with."""
        return [sys.executable, '-m', self.module, 'run', '--config', self.config_path,
                '--of-port', str(self.of_port), '--state-file', self.state_file,
                *self.extra_args]

    @property
    def pid(self) -> int | None:
        """Pid of the process this object started (None before start)."""
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        """Whether the started process is still alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """Exit status of the process once it has ended."""
        return self._proc.poll() if self._proc else None

    def start(self) -> ControllerProcess:
        """Start the controller (again, after stop/kill), output appended to log_path."""
        if self.running:
            raise ControllerError(f'controller already running (pid {self.pid})')
        env = dict(os.environ if self.env is None else self.env)
        paths = [str(REPO_ROOT)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
        env['PYTHONPATH'] = os.pathsep.join(dict.fromkeys(paths))
        env['PYTHONUNBUFFERED'] = '1'
        Path(self.log_path).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, 'ab') as log:
            log.write(f'--- {time.strftime("%H:%M:%S")} start: {" ".join(self.argv)}\n'.encode())
            log.flush()
            self._proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, env=env,
                                          preexec_fn=_die_with_parent)
        return self

    def request_reload(self) -> None:
        """SIGHUP the controller: it re-reads its configuration file."""
        if not self.running:
            raise ControllerError('controller is not running')
        self._proc.send_signal(signal.SIGHUP)

    def state(self) -> dict[str, Any]:
        """The controller's current state file contents ({} if not written yet)."""
        return read_state(self.state_file)

    def wait_synced(self, dpids: Iterable[int], timeout: float = 30) -> dict[str, Any]:
        """Wait until every dpid is connected and synced in this process's state; return it."""
        wanted = list(dpids)
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is None:
                raise ControllerError('controller not started')
            state = self.state()
            missing = unsynced(state, wanted, self._proc.pid)
            if not missing:
                return state
            if self._proc.poll() is not None:
                raise ControllerError(
                    f'controller exited with status {self._proc.returncode} while waiting for '
                    f'dpids {missing} to sync\n{self.log_tail()}')
            if time.monotonic() >= deadline:
                raise ControllerError(
                    f'dpids {missing} not connected and synced after {timeout} s '
                    f'(state: {json.dumps(state.get("switches", {}))[:1000]})\n'
                    f'{self.log_tail()}')
            time.sleep(0.1)

    def wait_listening(self, timeout: float = 30) -> None:
        """Wait until something listens on 127.0.0.1:of_port (checked with ss, no connection)."""
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is None:
                raise ControllerError('controller not started')
            out = subprocess.run(['ss', '-Hltn', f'sport = :{self.of_port}'], capture_output=True,
                                 text=True, check=False).stdout
            if out.strip():
                return
            if self._proc.poll() is not None:
                raise ControllerError(f'controller exited with status {self._proc.returncode} '
                                      f'before listening on {self.of_port}\n{self.log_tail()}')
            if time.monotonic() >= deadline:
                raise ControllerError(f'controller not listening on {self.of_port} after '
                                      f'{timeout} s\n{self.log_tail()}')
            time.sleep(0.05)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the controller's log."""
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as fh:
                tail = fh.readlines()[-lines:]
        except OSError:
            return '(no controller log)'
        return f'--- last {len(tail)} lines of {self.log_path}:\n' + ''.join(tail)

    def kill(self) -> int | None:
        """SIGKILL the process this object started (a crash); return its exit status."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.kill()
        return self._proc.wait()

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM the process, SIGKILL it after grace seconds; return its exit status."""
        if self._proc is None:
            return None
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        return self._proc.wait()

    def __enter__(self) -> ControllerProcess:
        """Start the controller."""
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        """Stop the controller."""
        self.stop()
