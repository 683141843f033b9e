"""The controller's LDAP mirrors: one thread per network with `shadow.ldap`, following rounds.

Each thread runs `Mirror.follow` for its network and hands every round's
report to a callback (the app turns the notable ones into controller events).
Nothing here raises into the controller: an unreachable server is retried by
the mirror with back-off, and an unexpected exception out of the follow loop
is logged, reported as a failed round and the loop started again after
back-off.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable

from sdn_shadow.config.model import Config, LdapMirrorSettings
from sdn_shadow.directory.follower import Directory, Mirror, RoundReport

LOG = logging.getLogger("sdn_shadow.directory")
TIMEOUT = 5.0  # seconds to connect and for each response (as `ldap mirror --timeout`)
BACKOFF_MAX = 30.0  # longest wait between attempts while the server is unreachable

Report = Callable[[str, RoundReport], None]
Connect = Callable[[], Directory]
Connector = Callable[[LdapMirrorSettings], Connect]


def ldap_connector(settings: LdapMirrorSettings, timeout: float = TIMEOUT) -> Connect:
    """`connect()` for a Mirror: binds to settings.url; reads the password file now.

    Raises UsageError (from `ldap mirror`'s own check) when the file cannot be read or is empty.
    """
    from sdn_shadow.directory import command, ldap_io

    password = command._password(settings.password_file)
    return functools.partial(ldap_io.connect, settings.url, settings.bind_dn, password, timeout,
                             settings.ca_file)


class DirectoryMirrors:
    """One daemon thread per network whose shadow has `ldap`: start() once, then stop().

    `report(network, report)` gets every round's report, from that network's thread.
    """

    def __init__(self, config: Config, report: Report, *, connector: Connector = ldap_connector,
                 backoff_initial: float | None = None,
                 backoff_max: float = BACKOFF_MAX) -> None:
        """Configure; nothing is read or contacted until start().

        `backoff_initial` None: the smaller of 1 s and the network's interval.
        """
        self.settings = {n.name: n.shadow.ldap for n in config.networks
                         if n.shadow is not None and n.shadow.ldap is not None}
        self.report = report
        self.connector = connector
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.mirrors: dict[str, Mirror] = {}
        self.threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()

    def start(self) -> DirectoryMirrors:
        """Read each password file and start each network's thread.

        A network whose password cannot be read gets a failed report and no thread.
        """
        for network, settings in self.settings.items():
            try:
                connect = self.connector(settings)
            except Exception as exc:  # never stop the controller over a mirror
                LOG.error("LDAP mirror of %s not started: %s", network, exc)
                self._deliver(network, RoundReport(0, time.time(), 0.0,
                                                   error=f"not started: {exc}"))
                continue
            initial = min(self.backoff_initial or min(1.0, settings.interval), self.backoff_max)
            mirror = Mirror(connect, settings.primary_base, settings.shadow_base,
                            settings.rules, revert_drift=settings.revert_drift,
                            backoff_initial=initial, backoff_max=self.backoff_max,
                            on_report=functools.partial(self.report, network),
                            log_reports=False)  # the callback decides what to log
            thread = threading.Thread(target=self._run,
                                      args=(network, mirror, settings.interval, initial),
                                      name=f"ldap-mirror-{network}", daemon=True)
            self.mirrors[network], self.threads[network] = mirror, thread
            thread.start()
            if settings.url.lower().startswith("ldap://"):
                LOG.warning("LDAP mirror of %s binds to %s without TLS: the bind password "
                            "crosses the network in the clear (use ldaps://)", network,
                            settings.url)
            LOG.info("LDAP mirror of %s: %s under %s into %s every %g s%s", network,
                     settings.url, settings.primary_base, settings.shadow_base,
                     settings.interval, ", reverting drift" if settings.revert_drift else "")
        return self

    def stop(self, timeout: float = 2 * TIMEOUT + 5) -> bool:
        """End every thread (a round in progress finishes first); True when all have ended."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self.threads.values())

    def _run(self, network: str, mirror: Mirror, interval: float, backoff: float) -> None:
        """Follow until stopped; start following again (after back-off) if the loop breaks."""
        crashes = 0
        while not self._stop.is_set():
            try:
                mirror.follow(interval, self._stop)
            except Exception as exc:  # a bug must not end the mirroring
                reports = mirror.reports()
                if reports and reports[-1].ok:
                    crashes = 0  # it had been working since the last break
                crashes += 1
                wait = min(self.backoff_max, backoff * 2 ** (crashes - 1))
                LOG.exception("LDAP mirror of %s broke; following again in %g s", network, wait)
                with contextlib.suppress(Exception):
                    mirror.close()
                number = reports[-1].number + 1 if reports else 1
                self._deliver(network, RoundReport(number, time.time(), 0.0,
                                                   error=f"internal error: {exc!r}",
                                                   retry_in=wait))
                self._stop.wait(wait)
        with contextlib.suppress(Exception):
            mirror.close()

    def _deliver(self, network: str, report: RoundReport) -> None:
        """Hand a report the mirror did not make itself to the callback; never raises."""
        try:
            self.report(network, report)
        except Exception:
            LOG.exception("LDAP mirror report consumer failed")
