"""OS-Ken app for the flow-push benchmark: on connect, push N flows the way the controller does.

Run as `python -m bench.push_app --of-port P --flows N --out FILE`: it waits for
one switch, clears its tables, then packs N flow-adds in runs
(`Sender.send_push`, as the controller's reconcile does), hands each run to
the datapath's writer as soon as it is packed, and times until the barrier reply. The
flows were never packed before in this process (a fresh one per push). The
JSON result (seconds, when the last run was handed over, CPU seconds used)
goes to FILE and the process exits.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import threading
import time

from os_ken import cfg
from os_ken.base import app_manager
from os_ken.base.app_manager import AppManager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib import hub
from os_ken.ofproto import ofproto_v1_3

from bench.flowset import bench_flows
from sdn_shadow.control.sender import Sender
from sdn_shadow.openflow import wire
from sdn_shadow.openflow.messages import Barrier, FlowAdd, FlowDelete, Message


class Job:
    """Parameters handed to the app."""

    flows = 10000
    out = ""


class PushApp(app_manager.OSKenApp):
    """Clears the switch, then times one push of `Job.flows` flows to the barrier."""

    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.flows = bench_flows(Job.flows)
        self.phase = "idle"
        self.sender = Sender(threading.RLock(), lambda dpid: True,
                             pause=lambda: hub.sleep(0))  # as the controller's app makes it
        self.t0 = self.packed = self.cpu0 = 0.0

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def _features(self, ev) -> None:
        dp = ev.msg.datapath
        self.phase = "clearing"
        dp.send(wire.pack_many([FlowDelete(), Barrier()], first_xid=1))

    @set_ev_cls(ofp_event.EventOFPBarrierReply, MAIN_DISPATCHER)
    def _barrier(self, ev) -> None:
        dp = ev.msg.datapath
        if self.phase == "clearing":
            self.phase = "pushing"
            self.cpu0 = _cpu()
            self.t0 = time.perf_counter()
            msgs: list[Message] = [FlowAdd(f) for f in self.flows]
            msgs.append(Barrier())
            self.sender.send_push(dp, msgs, first_xid=100)
            self.packed = time.perf_counter() - self.t0
        elif self.phase == "pushing":
            seconds = time.perf_counter() - self.t0
            cpu = _cpu() - self.cpu0
            with open(Job.out, "w") as fh:
                json.dump({"seconds": seconds, "packed_s": self.packed, "cpu_s": cpu,
                           "flows": len(self.flows)}, fh)
            os._exit(0)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def _error(self, ev) -> None:
        with open(Job.out, "w") as fh:
            json.dump({"error": f"type={ev.msg.type} code={ev.msg.code}"}, fh)
        os._exit(1)


def _cpu() -> float:
    """CPU seconds this process has used, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Parse arguments and run the app until the push is measured."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--of-port", type=int, required=True)
    parser.add_argument("--flows", type=int, default=10000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    from bench import push_app  # the module OS-Ken loads, not this __main__

    push_app.Job.flows, push_app.Job.out = args.flows, args.out
    cfg.CONF(args=["--ofp-tcp-listen-port", str(args.of_port), "--ofp-listen-host", "127.0.0.1"],
             project="os_ken")
    AppManager.run_apps(["bench.push_app"])


if __name__ == "__main__":
    main()
