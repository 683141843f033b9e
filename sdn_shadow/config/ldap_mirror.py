"""`networks.NAME.shadow.ldap`: the controller's LDAP mirror, checked as the CLI checks it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sdn_shadow.directory.dn import split_dn, within
from sdn_shadow.directory.rules import MappingRule, parse_rule

from .context import Context
from .drafts import NetDraft
from .files import PASSWORD, TLS
from .model import LdapMirrorSettings

_LDAP_MIRROR_KEYS = ("bind_dn", "ca_file", "interval", "password_file", "primary_base",
                     "revert_drift", "rules", "shadow_base", "url")
_LDAP_MIRROR_REQUIRED = ("bind_dn", "password_file", "primary_base", "shadow_base", "url")
_LDAP_RULE_KEYS = ("map", "map_regex")


def ldap_mirror(ctx: Context, value: Any, path: str) -> LdapMirrorSettings | None:
    """`shadow.ldap`: checked as `sdn-shadow ldap mirror` checks its options."""
    from sdn_shadow.directory import command

    f = ctx.fields(value, path, _LDAP_MIRROR_KEYS, _LDAP_MIRROR_REQUIRED)
    if f is None:
        return None
    before = len(ctx.problems)
    given: dict[str, Any] = {}
    if "url" in f:
        url = ctx.string(f["url"], f"{path}.url")
        if url is not None:
            given["url"] = _command_check(ctx, command._url, f"{path}.url", f"--url {url!r}: ",
                                          url)
    for key in ("bind_dn", "primary_base", "shadow_base"):
        if key in f:
            given[key] = ldap_dn(ctx, f[key], f"{path}.{key}")
    if "password_file" in f:  # the loader checked it; the controller reads it at start
        name = ctx.string(f["password_file"], f"{path}.password_file")
        if name is not None and ctx.file(PASSWORD, name, f"{path}.password_file"):
            given["password_file"] = name
    if "ca_file" in f:  # the loader checked it; TLS reads it on each connect
        name = ctx.optional_string(f["ca_file"], f"{path}.ca_file")
        if name is not None and ctx.file(TLS, name, f"{path}.ca_file"):
            given["ca_file"] = name
    if f.get("interval") is not None:
        given["interval"] = ctx.positive(f["interval"], f"{path}.interval")
    if f.get("revert_drift") is not None:
        given["revert_drift"] = ctx.boolean(f["revert_drift"], f"{path}.revert_drift")
    if f.get("rules") is not None:
        given["rules"] = tuple(ldap_rules(ctx, f["rules"], f"{path}.rules"))
    primary, shadow = given.get("primary_base"), given.get("shadow_base")
    if primary and shadow and (within(primary, shadow) or within(shadow, primary)):
        ctx.err(f"{path}.shadow_base", f"{shadow} and primary_base {primary} overlap: "
                                       "neither may be inside the other")
    if len(ctx.problems) > before or not all(given.get(k) for k in _LDAP_MIRROR_REQUIRED):
        return None
    return LdapMirrorSettings(**{k: v for k, v in given.items() if v is not None})


def _command_check(ctx: Context, check: Callable[[str], str], path: str, prefix: str,
                   text: str) -> str | None:
    """One of `sdn-shadow ldap mirror`'s option checks; its UsageError becomes a problem."""
    from sdn_shadow.usage import UsageError

    try:
        return check(text)
    except UsageError as exc:
        ctx.err(path, str(exc).removeprefix(prefix))
        return None


def ldap_dn(ctx: Context, value: Any, path: str) -> str | None:
    """A non-empty DN, written without spacing around the separators."""
    text = ctx.string(value, path)
    if text is None:
        return None
    try:
        rdns = split_dn(text)
    except ValueError as exc:
        ctx.err(path, f"not a DN: {exc}")
        return None
    if not rdns:
        ctx.err(path, "must be a DN, like ou=tenant-a,dc=example,dc=org")
        return None
    return ",".join(rdns)


def ldap_rules(ctx: Context, value: Any, path: str) -> list[MappingRule]:
    """Mapping rules, each `map: [CLASS/]ATTR=OLD:NEW` or `map_regex: ...=PATTERN:REPL`."""
    rules = []
    for item_path, item in ctx.items(value, path):
        f = ctx.fields(item, item_path, _LDAP_RULE_KEYS)
        if f is None:
            continue
        if len(f) != 1:
            ctx.err(item_path, "give one of map or map_regex")
            continue
        key, text = next(iter(f.items()))
        if key not in _LDAP_RULE_KEYS or ctx.string(text, f"{item_path}.{key}") is None:
            continue
        try:
            rules.append(parse_rule(text, regex=key == "map_regex"))
        except ValueError as exc:
            ctx.err(f"{item_path}.{key}", str(exc))
    return rules


def ldap_mirrors_apart(ctx: Context, nets: list[NetDraft]) -> None:
    """Two shadows on one server must not write into each other's subtree or a primary's."""
    blocks = [(n.shadow.path, n.shadow.ldap) for n in nets
              if n.shadow is not None and n.shadow.ldap is not None]
    for i, (path, mine) in enumerate(blocks):
        for j, (other_path, other) in enumerate(blocks):
            if i == j or mine.url.lower() != other.url.lower():
                continue
            bases = [("primary_base", other.primary_base)]
            if j < i:  # two shadow bases that overlap: reported once, at the later one
                bases.append(("shadow_base", other.shadow_base))
            for key, base in bases:
                if within(mine.shadow_base, base) or within(base, mine.shadow_base):
                    ctx.err(f"{path}.ldap.shadow_base",
                            f"{mine.shadow_base} overlaps {other_path}.ldap.{key} "
                            f"{base}: one mirror would overwrite the other's entries")
