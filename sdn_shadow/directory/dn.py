"""Distinguished names (RFC 4514), pure: split, normalise, compare, rebase onto another base."""

from __future__ import annotations

from string import hexdigits

_SPECIAL = ',+"\\<>;='


def _split(text: str, separator: str) -> list[str]:
    """Split at unescaped, unquoted `separator`s; escapes are kept as written."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            current.append(text[index:index + 2])
            index += 2
            continue
        if char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            index += 1
            continue
        current.append(char)
        index += 1
    parts.append("".join(current))
    return parts


def _trim(text: str) -> str:
    """Strip surrounding spaces, but keep an escaped trailing space (`\\ `)."""
    text = text.lstrip(" ")
    stripped = text.rstrip(" ")
    backslashes = len(stripped) - len(stripped.rstrip("\\"))
    if len(stripped) < len(text) and backslashes % 2 == 1:
        stripped += " "
    return stripped


def _unescape(value: str) -> str:
    """The value an RDN's written value stands for: `\\XX` hex pairs and `\\c` resolved."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    out = bytearray()
    index = 0
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            pair = value[index + 1:index + 3]
            if len(pair) == 2 and all(c in hexdigits for c in pair):
                out.append(int(pair, 16))
                index += 3
                continue
            out += value[index + 1].encode()
            index += 2
            continue
        out += char.encode()
        index += 1
    return out.decode("utf-8", "replace")


def _escape(value: str) -> str:
    """Escape a value for use inside a normalised DN."""
    escaped = "".join("\\" + c if c in _SPECIAL else c for c in value)
    if escaped.startswith((" ", "#")):
        escaped = "\\" + escaped
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def split_dn(dn: str) -> list[str]:
    """The RDNs of `dn`, leaf first, each trimmed of spacing; ValueError if it is not a DN."""
    if not dn.strip():
        return []
    return [pretty_rdn(part) for part in _split(dn, ",")]


def rdn_avas(rdn: str) -> list[tuple[str, str]]:
    """(attribute type lower-cased, unescaped value) for each part of a (multi-valued) RDN."""
    avas = []
    for ava in _split(rdn, "+"):
        kind, sep, value = ava.partition("=")
        if not sep or not kind.strip():
            raise ValueError(f"not a DN component: {rdn!r}")
        avas.append((kind.strip().lower(), _unescape(_trim(value))))
    return avas


def pretty_rdn(rdn: str) -> str:
    """An RDN as written, with the spacing around `=` and `+` removed."""
    parts = []
    for ava in _split(rdn, "+"):
        kind, sep, value = ava.partition("=")
        if not sep or not kind.strip():
            raise ValueError(f"not a DN component: {rdn.strip()!r}")
        parts.append(f"{kind.strip()}={_trim(value)}")
    return "+".join(parts)


def norm_rdn(rdn: str) -> str:
    """A comparable form of an RDN: types and values lower-cased, parts sorted."""
    return "+".join(sorted(f"{kind}={_escape(value.lower())}" for kind, value in rdn_avas(rdn)))


def norm_dn(dn: str) -> str:
    """A comparable form of a DN: case, spacing and escaping differences removed."""
    return ",".join(norm_rdn(rdn) for rdn in split_dn(dn))


def pretty_dn(dn: str) -> str:
    """A DN as written, with the spacing around separators removed."""
    return ",".join(split_dn(dn))


def depth(dn: str) -> int:
    """The number of RDNs in `dn`."""
    return len(split_dn(dn))


def parent_dn(dn: str) -> str:
    """The DN above `dn` ("" for a single RDN)."""
    return ",".join(split_dn(dn)[1:])


def within(dn: str, base: str) -> bool:
    """Whether `dn` is `base` or below it (case- and spacing-insensitive)."""
    rdns = [norm_rdn(r) for r in split_dn(dn)]
    base_rdns = [norm_rdn(r) for r in split_dn(base)]
    if len(rdns) < len(base_rdns):
        return False
    return not base_rdns or rdns[-len(base_rdns):] == base_rdns


def rebase_dn(dn: str, primary_base: str, shadow_base: str) -> str:
    """`dn` moved from below `primary_base` to below `shadow_base`; ValueError if outside."""
    if not within(dn, primary_base):
        raise ValueError(f"{dn!r} is not within {primary_base!r}")
    head = split_dn(dn)[:len(split_dn(dn)) - depth(primary_base)]
    return ",".join(head + split_dn(shadow_base))


def try_norm_dn(value: str) -> str | None:
    """norm_dn of `value`, or None when `value` is not a DN."""
    try:
        return norm_dn(value)
    except ValueError:
        return None
