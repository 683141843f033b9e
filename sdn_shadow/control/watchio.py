"""The watch's I/O: reading baseline captures and sniffing the watched shadow ports.

The core's watch decides what to read and which ports to watch; this reads
the files and runs a `PortSniffer` per interface, and hands what it decoded
back to the core under the controller's lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sdn_shadow.core import ShadowCore
    from sdn_shadow.policy.watch import Destination

LOG = logging.getLogger("sdn_shadow")


class WatchIO:
    """Baselines and sniffers for the core's watch; `port_names` come from the switches."""

    def __init__(self, core: Callable[[], ShadowCore], lock: AbstractContextManager[Any],
                 clock: Callable[[], float] = time.time) -> None:
        self.core, self.lock, self.clock = core, lock, clock
        self.port_names: dict[int, dict[int, str]] = {}  # dpid -> port -> interface
        self.sniffers: dict[str, tuple[Destination, Any]] = {}  # by interface

    def load_baselines(self) -> None:
        """Read the baseline captures the watch has not read as configured (at start, and
        after a reload that changed them)."""
        from sdn_shadow.analytics.analyze import capture_intervals
        from sdn_shadow.analytics.capture_file import CaptureError

        with self.lock:
            todo = self.core().watch.baselines_to_read()
        for network, (files, seconds) in todo.items():
            intervals = []
            for path in files:
                try:
                    intervals += capture_intervals(path, seconds).intervals
                except CaptureError as err:
                    LOG.error("detection baseline of %s: %s (left out)", network, err)
            with self.lock:
                self.core().watch.set_baseline(network, (files, seconds), intervals)
            LOG.info("detection baseline of %s: %d intervals from %d files", network,
                     len(intervals), len(files))

    def update_sniffers(self) -> None:
        """Read the ports of the watched shadow hosts (and stop reading the others)."""
        with self.lock:
            wanted = {self.port_names[dpid][port]: dest
                      for (dpid, port), dest in self.core().watch.ports().items()
                      if port in self.port_names.get(dpid, {})}
        for name, (dest, sniffer) in list(self.sniffers.items()):
            if wanted.get(name) != dest:
                sniffer.stop()
                del self.sniffers[name]
                LOG.info("stopped watching %s (%s/%s)", name, *dest)
        for name, dest in wanted.items():
            if name in self.sniffers:
                continue
            from sdn_shadow.sniffer import PortSniffer

            sniffer = PortSniffer(name, self._reader(dest))
            try:
                self.sniffers[name] = (dest, sniffer.start())
            except OSError as err:
                LOG.error("cannot watch %s/%s on interface %s: %s", *dest, name, err)
                continue
            LOG.info("watching %s/%s: the copies %s sends it", *dest, name)

    def _reader(self, dest: Destination) -> Callable[[list[Any], int], None]:
        return lambda frames, lost: self.mirrored(dest, frames, lost)

    def mirrored(self, destination: Destination, frames: list[Any], lost: int) -> None:
        """Copies read on a watched port: decoded here, judged by the core."""
        from sdn_shadow.analytics.live import decode_frames

        decoded = decode_frames(frames, lost)  # the per-packet work, outside the lock
        with self.lock:
            lagging = self.core().mirrored(self.clock(), destination, decoded)
        if lagging is not None:
            LOG.warning("%s %s: %s", lagging["kind"], lagging["network"], lagging["reason"])
