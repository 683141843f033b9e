"""An open dashboard whose controller restarts on the same address, in headless chromium.

The new controller's event log starts again from 0, so the page's cursor
names nothing there: the page must notice (the mount's `start` changed),
drop the old controller's events and read the new log, instead of waiting
for an event number the new log may not reach for hours.
"""

from __future__ import annotations

import itertools

import pytest

from sdn_shadow.api.auth import Holder, TokenBook, hash_token
from sdn_shadow.api.rest import create_app
from sdn_shadow.api.server import ApiServer
from sdn_shadow.dashboard import StreamSettings, mount_dashboard
from sdn_shadow.lab.net import free_tcp_port
from tests.browser import log_in, wait_text, watched_page
from tests.component.test_rest_api import Api

pytestmark = pytest.mark.system

SETTINGS = StreamSettings(tick=0.2, snapshot_every=1.0)


class Controller:
    """The fake ring's API with the dashboard, served on 127.0.0.1:`port`; stopped by the
    test (a restart is a new one on the same port, with the same token file)."""

    def __init__(self, port: int, tokens: TokenBook | None = None) -> None:
        self.api = Api()
        self.api.service.clock = itertools.count(100.0).__next__
        self.tokens = tokens or TokenBook({hash_token(self.api.token["viewer"]):
                                           Holder("viewer-1", "viewer")})
        app = create_app(self.api.service, self.tokens)
        mount_dashboard(app, self.api.service, SETTINGS)
        self.server = ApiServer(app, "127.0.0.1", port).start()
        self.server.server.config.timeout_graceful_shutdown = 1

    def stop(self) -> None:
        self.server.stop()


def moves(page) -> list[str]:
    """The timeline's entries, newest first."""
    return page.eval_on_selector_all("#timeline ol.timeline li[data-kind=move]",
                                     "els => els.map(e => e.textContent)")


def test_a_page_resyncs_when_its_controller_restarts_on_the_same_address(tmp_path) -> None:
    port = free_tcp_port()
    old = Controller(port)
    token = old.api.token["viewer"]
    new = None
    try:
        with watched_page(f"http://127.0.0.1:{port}", tmp_path, "restart") as w:
            page = w.page
            log_in(page, f"http://127.0.0.1:{port}", token)
            page.click("#tab-timeline")
            for path in ("shadow", "primary", "shadow"):
                assert old.api.put("/networks/tenant-a/clients/h1", {"path": path}
                                   ).status_code == 200
            page.wait_for_selector("#timeline li[data-kind=move][data-id='2']")
            old.stop()
            wait_text(page, "#status", r"^Reconnecting")
            new = Controller(port, old.tokens)  # the same token file, a new event log
            assert new.api.put("/networks/tenant-a/clients/h2", {"path": "shadow"}
                               ).status_code == 200
            wait_text(page, "#status", r"^Live · .* · resynced: the controller restarted")
            page.wait_for_selector("#timeline li[data-kind=move][data-id='0']")
            shown = moves(page)
            assert len(shown) == 1 and "tenant-a/h2 → shadow path" in shown[0], shown
            assert new.api.put("/networks/tenant-a/clients/h3", {"path": "shadow"}
                               ).status_code == 200
            page.wait_for_selector("#timeline li[data-kind=move][data-id='1']")
            assert "tenant-a/h3 → shadow path" in moves(page)[0]
            w.shot("resynced")
            # chromium logs the stream the stopping controller cut, and any reconnect
            # refused while it was down: nothing else
            outage = ("net::ERR_INCOMPLETE_CHUNKED_ENCODING", "net::ERR_CONNECTION_REFUSED")
            w.errors = [e for e in w.errors if not e.endswith(outage)]
            w.assert_clean()
    finally:
        (new or old).stop()
