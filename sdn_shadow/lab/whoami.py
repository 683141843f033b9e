"""A TCP service that says who answered, and a client that holds connections open to it.

Service steering sends a client's *new* connections to a twin while its
established ones stay with the primary host; host and twin share IP and MAC,
so only the answer can tell them apart. Run in Mininet hosts:

    python -m sdn_shadow.lab.whoami serve --name h2 --port 8080      (in h2; h2s alike)
    python -m sdn_shadow.lab.whoami client --dst 10.0.0.2 --port 8080  (in h1)

The server answers every line received on a connection with its name. The
client reads commands on stdin, one per line, and prints one JSON line for
each: `open ID` connects (and reports who greeted), `ask ID` asks again on
that connection, `close ID`, `quit`.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import socketserver
import sys
from typing import TextIO


def serve(name: str, port: int) -> None:
    """Answer each line of each connection with `name` until SIGTERM."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(f"{name}\n".encode())
            for _ in self.rfile:
                self.wfile.write(f"{name}\n".encode())

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    with Server(("0.0.0.0", port), Handler) as server:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        print(json.dumps({"listening": port, "name": name}), flush=True)
        server.serve_forever()


def client(dst: str, port: int, commands: TextIO, out: TextIO, timeout: float = 5.0) -> None:
    """Run `open/ask/close ID` commands from `commands`; one JSON result line each."""
    conns: dict[str, tuple[socket.socket, TextIO]] = {}

    def answer(cid: str, **fields: object) -> None:
        out.write(json.dumps({"id": cid, **fields}) + "\n")
        out.flush()

    for line in commands:
        verb, _, cid = line.strip().partition(" ")
        try:
            if verb == "open":
                sock = socket.create_connection((dst, port), timeout=timeout)
                reader = sock.makefile("r")
                conns[cid] = (sock, reader)
                answer(cid, by=reader.readline().strip())
            elif verb == "ask":
                sock, reader = conns[cid]
                sock.sendall(b"who\n")
                answer(cid, by=reader.readline().strip())
            elif verb == "close":
                sock, reader = conns.pop(cid)
                reader.close()
                sock.close()
                answer(cid, closed=True)
            elif verb == "quit":
                break
            else:
                answer(cid, error=f"unknown command {verb!r}")
        except (OSError, KeyError) as err:
            answer(cid, error=f"{type(err).__name__}: {err}")
    for sock, reader in conns.values():
        reader.close()
        sock.close()


def who_answers(host, dst: str, port: int = 8080, timeout: float = 5.0) -> str:
    """One new connection from a Mininet host: the name that greeted it (or the error)."""
    import subprocess

    from sdn_shadow.lab.traffic import child_env

    proc = host.popen([sys.executable, "-m", "sdn_shadow.lab.whoami", "client", "--dst", dst,
                       "--port", str(port), "--timeout", f"{timeout:g}"], env=child_env(),
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(b"open 1\nquit\n", timeout=timeout + 10)
    lines = out.decode().splitlines()
    if not lines:
        return f"error: {err.decode()[-300:]}"
    result = json.loads(lines[0])
    return result.get("by") or f"error: {result.get('error')}"


def main(argv: list[str] | None = None) -> int:
    """`serve` or `client`."""
    parser = argparse.ArgumentParser(prog="python -m sdn_shadow.lab.whoami")
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("serve", help="answer each line with a name")
    s.add_argument("--name", required=True)
    s.add_argument("--port", type=int, default=8080)
    c = sub.add_parser("client", help="open/ask/close connections as told on stdin")
    c.add_argument("--dst", required=True)
    c.add_argument("--port", type=int, default=8080)
    c.add_argument("--timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    if args.mode == "serve":
        serve(args.name, args.port)
    else:
        client(args.dst, args.port, sys.stdin, sys.stdout, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
