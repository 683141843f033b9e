"""One parse's working state: its problems, the names, ports and VLANs claimed, value checks."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .document import Base60Int, LongNumber, number_problem
from .files import FileFacts
from .model import Link, PortRef
from .shapes import Shapes

MAX_PORT = 0xFFFFFEFF
MAX_DPID = 2**64 - 1
MAX_VLAN = 4094

_MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
_DPID_HEX_RE = re.compile(r"0[xX][0-9A-Fa-f]+")
_DPID_COLON_RE = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){7}")
_PORT_REF_RE = re.compile(r"([^:\s]+):([0-9]+)")

_MAC_EXAMPLE = "00:00:00:00:00:01"
_DPID_REASON = 'must be an integer, a hex string like "0x1" or like "00:00:00:00:00:00:00:01"'
_PORT_REF_REASON = 'must be "switch:port", like "s1:10"'

T = TypeVar("T")
Check = Callable[[Any, str], object]
"""Checks one settings value at a key path: the parsed value, or None after a problem."""


class Context(Shapes):
    """Walks a document once, collecting problems and what the file's parts claim."""

    def __init__(self, files: FileFacts | None = None) -> None:
        self.files = files  # what the loader found opening the named files; None: unchecked
        self.problems: list[tuple[str, str]] = []
        self.switches: dict[str, int | None] = {}  # declared name -> dpid (None when invalid)
        self.switches_known = False  # fabric.switches is a mapping: unknown names are errors
        self.links: list[Link] = []
        self.links_ok = True
        self.ports: dict[tuple[str, int], str] = {}  # (switch, port) -> path of its user
        self.vlans: dict[int, str] = {}  # explicit VLAN id -> path that set it
        self.session_names: dict[str, str] = {}

    def err(self, path: str, reason: str) -> None:
        """Record a problem at `path`."""
        self.problems.append((path, reason))

    def file(self, kind: str, name: str, path: str) -> bool:
        """Whether the file `name` at `path` is fit to be a `kind` file, as the loader found."""
        reason = None if self.files is None else self.files.problem(kind, name)
        if reason is not None:
            self.err(path, reason)
        return reason is None

    def section(self, value: Any, path: str, cls: Callable[..., T],
                checks: Mapping[str, Check]) -> T:
        """A flat settings section: every key optional, each checked by its function."""
        if value is None:
            return cls()
        f = self.fields(value, path, tuple(sorted(checks)))
        if f is None:
            return cls()
        given = {}
        for key, check in checks.items():
            if f.get(key) is not None:
                parsed = check(f[key], f"{path}.{key}")
                if parsed is not None:
                    given[key] = parsed
        return cls(**given)

    # numbers

    def int_in(self, value: Any, path: str, lo: int, hi: int) -> int | None:
        """An integer in lo..hi."""
        if isinstance(value, Base60Int):
            self.err(path, f"must be an integer (YAML read {value.text} as a base-60 number)")
        elif isinstance(value, LongNumber):
            self.err(path, f"must be in {lo}..{hi}")
        elif isinstance(value, bool) or not isinstance(value, int):
            self.err(path, "must be an integer")
        elif not lo <= value <= hi:
            self.err(path, f"must be in {lo}..{hi}")
        else:
            return int(value)
        return None

    def number(self, value: Any, path: str) -> int | float | None:
        """A finite int or float (not a boolean), at most MAX_MAGNITUDE in size."""
        problem = number_problem(value)
        if problem is not None:
            self.err(path, problem)
        elif isinstance(value, bool | Base60Int) or not isinstance(value, int | float):
            self.err(path, "must be a number")
        else:
            return value
        return None

    def bounded(self, value: Any, path: str, low: float, strict: bool = False) -> float | None:
        """A number >= `low` (> `low` if `strict`), as a float; a problem otherwise."""
        number = self.number(value, path)
        if number is not None and (number <= low if strict else number < low):
            self.err(path, f"must be {'>' if strict else '>='} {low:g}")
            return None
        return None if number is None else float(number)

    def positive(self, value: Any, path: str) -> float | None:
        """A number > 0."""
        return self.bounded(value, path, 0, strict=True)

    def non_negative(self, value: Any, path: str) -> float | None:
        """A number >= 0."""
        return self.bounded(value, path, 0)

    def at_least_one(self, value: Any, path: str) -> float | None:
        """A number >= 1."""
        return self.bounded(value, path, 1)

    def fraction(self, value: Any, path: str) -> float | None:
        """A number in (0, 1)."""
        number = self.number(value, path)
        if number is not None and not 0 < number < 1:
            self.err(path, "must be in (0, 1)")
            return None
        return None if number is None else float(number)

    def share(self, value: Any, path: str) -> float | None:
        """A number in (0, 1]."""
        number = self.number(value, path)
        if number is not None and not 0 < number <= 1:
            self.err(path, "must be in (0, 1]")
            return None
        return None if number is None else float(number)

    # strings

    def one_of(self, value: Any, path: str, choices: tuple[str, ...]) -> str | None:
        """A string among `choices`."""
        text = self.string(value, path)
        if text is not None and text not in choices:
            self.err(path, f"must be one of: {', '.join(choices)}")
            return None
        return text

    def optional_string(self, value: Any, path: str) -> str | None:
        """A non-blank string."""
        text = self.string(value, path)
        if text is not None and not text.strip():
            self.err(path, "must not be empty (leave the key out instead)")
            return None
        return text

    def listen_address(self, value: Any, path: str) -> str | None:
        """`address:port`, the address an IP literal."""
        text = self.string(value, path)
        if text is None:
            return None
        host, sep, port = text.rpartition(":")
        try:
            ipaddress.ip_address(host)
            ok = sep == ":" and 1 <= int(port) <= 65535
        except ValueError:
            ok = False
        if not ok:
            self.err(path, f"must be address:port, like 127.0.0.1:9108 (got {text!r})")
            return None
        return text

    def mac(self, value: Any, path: str) -> str | None:
        """A unicast MAC address, lower case."""
        if isinstance(value, int) and not isinstance(value, bool):
            self.err(path, f'must be a quoted MAC address string like "{_MAC_EXAMPLE}"')
            return None
        if not isinstance(value, str) or not _MAC_RE.fullmatch(value.strip()):
            self.err(path, f'must be a MAC address like "{_MAC_EXAMPLE}"')
            return None
        mac = value.strip().lower()
        if int(mac[:2], 16) & 1:
            self.err(path, f"{mac} is a multicast address (must be unicast)")
            return None
        if mac == "00:00:00:00:00:00":
            self.err(path, "must not be 00:00:00:00:00:00")
            return None
        return mac

    def address(self, value: Any, path: str) -> ipaddress.IPv4Address | None:
        """An IPv4 address."""
        try:
            if isinstance(value, str):
                return ipaddress.IPv4Address(value.strip())
        except ValueError:
            pass
        self.err(path, "must be an IPv4 address")
        return None

    def ip_network(self, value: Any, path: str, reason: str) -> ipaddress.IPv4Network | None:
        """An IPv4 network without host bits; `reason` when it is none at all."""
        if not isinstance(value, str):
            self.err(path, reason)
            return None
        text = value.strip()
        try:
            return ipaddress.IPv4Network(text, strict=True)
        except ValueError:
            pass
        try:
            loose = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            self.err(path, reason)
            return None
        self.err(path, f"{text} has host bits set (did you mean {loose}?)")
        return None

    # the fabric's names, ports and VLAN ids, claimed across the whole file

    def dpid(self, value: Any, path: str) -> int | None:
        """A datapath id: an integer, "0x..." or eight colon-separated hex bytes."""
        if isinstance(value, Base60Int):
            self.err(
                path,
                'must be quoted when written with colons, like "00:00:00:00:00:00:00:01" '
                f"(YAML read {value.text} as a base-60 number)",
            )
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            dpid = int(value)
        elif isinstance(value, str) and _DPID_HEX_RE.fullmatch(value.strip()):
            dpid = int(value.strip(), 16)
        elif isinstance(value, str) and _DPID_COLON_RE.fullmatch(value.strip()):
            dpid = int(value.strip().replace(":", ""), 16)
        else:
            self.err(path, _DPID_REASON)
            return None
        if not 1 <= dpid <= MAX_DPID:
            self.err(path, "must be in 1..2**64-1")
            return None
        return dpid

    def switch_name(self, value: Any, path: str) -> str | None:
        """The name of a declared switch."""
        name = self.string(value, path)
        if name is None:
            return None
        if self.switches_known and name not in self.switches:
            self.err(path, f"unknown switch {name}")
            return None
        return name

    def port_ref(self, value: Any, path: str) -> PortRef | None:
        """`switch:port` of a declared switch."""
        m = _PORT_REF_RE.fullmatch(value.strip()) if isinstance(value, str) else None
        if m is None:
            self.err(path, _PORT_REF_REASON)
            return None
        switch, port = m.group(1), int(m.group(2))
        if self.switches_known and switch not in self.switches:
            self.err(path, f"unknown switch {switch}")
            return None
        if not 1 <= port <= MAX_PORT:
            self.err(path, f"port must be in 1..{MAX_PORT}")
            return None
        return PortRef(switch, port)

    def claim_port(self, ref: PortRef, user: str) -> None:
        """`ref` is used by `user` (a key path); a port has one user."""
        key = (ref.switch, ref.port)
        if key in self.ports:
            self.err(user, f"port {ref} already used by {self.ports[key]}")
        else:
            self.ports[key] = user

    def attachment(self, f: dict[Any, Any], path: str, draft: dict[str, Any]) -> None:
        """`switch` and `port` of a host into `draft`; claims the port."""
        switch = self.switch_name(f["switch"], f"{path}.switch") if "switch" in f else None
        port = self.int_in(f["port"], f"{path}.port", 1, MAX_PORT) if "port" in f else None
        draft["switch"], draft["port"] = switch, port
        if switch is not None and port is not None:
            self.claim_port(PortRef(switch, port), path)

    def vlan(self, value: Any, path: str) -> int | None:
        """An optional explicit VLAN id, claimed for the whole file."""
        if value is None:
            return None
        vid = self.int_in(value, path, 1, MAX_VLAN)
        if vid is not None:
            if vid in self.vlans:
                self.err(path, f"VLAN {vid} already used by {self.vlans[vid]}")
            else:
                self.vlans[vid] = path
        return vid
