"""Serve the REST API with uvicorn in its own thread beside the OS-Ken hub."""

from __future__ import annotations

import ssl
import threading
import time
from typing import Any

import uvicorn

from sdn_shadow.config.model import TlsFiles


class ApiServer:
    """A uvicorn server on `host:port` in a daemon thread; `stop()` ends it.

    With `tls` (certificate and key) it serves HTTPS only; plain HTTP gets no answer.
    """

    def __init__(self, app: Any, host: str, port: int, tls: TlsFiles | None = None) -> None:
        """Serve ASGI `app` (the REST app, or the start's gate: FastAPI is not imported here)."""
        files = {}
        if tls is not None:
            # fail here, in the caller, on unreadable or mismatched files (not in the thread)
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(tls.cert, tls.key)
            files = {"ssl_certfile": tls.cert, "ssl_keyfile": tls.key}
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                access_log=False, lifespan="off", **files)
        self.scheme = "https" if tls else "http"
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # the controller owns signals
        self.thread = threading.Thread(target=self.server.run, name="sdn-shadow-api",
                                       daemon=True)

    def start(self, timeout: float = 10.0) -> ApiServer:
        """Start serving; returns once the socket listens (RuntimeError if it cannot)."""
        self.thread.start()
        deadline = time.time() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the API server stopped while starting (port in use?)")
            if time.time() > deadline:
                raise RuntimeError(f"the API server did not start within {timeout} s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Ask the server to finish and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=5)
