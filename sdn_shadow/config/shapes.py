"""Generic shape checks of a YAML document, worded alike for the config and the templates."""

from __future__ import annotations

import re
from typing import Any

NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
NAME_RE = re.compile(NAME_PATTERN)
NAME_REASON = f"must be a name matching {NAME_PATTERN}"
MAX_NAME = 100
"""Characters a name may have: names go into flow cookies' hashes, URLs, logs and events."""


def name_problem(text: str) -> str | None:
    """Why `text` cannot be a name (network, host, switch, session, template); None if it can."""
    if not NAME_RE.fullmatch(text):
        return NAME_REASON
    if len(text) > MAX_NAME:
        return f"must be at most {MAX_NAME} characters, not {len(text)}"
    return None


def join(path: str, key: object) -> str:
    """The key path of `key` inside `path` (the root's path is empty)."""
    return f"{path}.{key}" if path else str(key)


class Shapes:
    """The generic shape checks of a YAML document; each problem goes to `err`.

    Shared by the config parser and the placement-template checker, so both
    word the same mistakes the same way.
    """

    def err(self, path: str, reason: str) -> None:
        """Record a problem at `path`."""
        raise NotImplementedError

    def fields(
        self, value: Any, path: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[Any, Any] | None:
        """A mapping with fixed keys; unknown and missing keys are problems."""
        if not isinstance(value, dict):
            self.err(path or "<root>", "must be a mapping")
            return None
        expected = ", ".join(sorted(allowed))
        for key in value:
            if key not in allowed:
                self.err(join(path, key), f"unknown key (expected one of: {expected})")
        for key in required:
            if key not in value:
                self.err(join(path, key), "required")
        return value

    def named(self, value: Any, path: str, non_empty: bool = False) -> list[tuple[str, str, Any]]:
        """(name, path, item) for a mapping of user-chosen names."""
        if not isinstance(value, dict):
            self.err(path, "must be a mapping")
            return []
        if non_empty and not value:
            self.err(path, "must not be empty")
        out = []
        for key, item in value.items():
            item_path = join(path, key)
            if not isinstance(key, str):
                self.err(item_path, f"{NAME_REASON} (YAML read it as {type(key).__name__})")
            elif (problem := name_problem(key)) is not None:
                self.err(item_path, problem)
            out.append((str(key), item_path, item))
        return out

    def items(self, value: Any, path: str, non_empty: bool = False) -> list[tuple[str, Any]]:
        """(path, item) for a list."""
        if not isinstance(value, list):
            self.err(path, "must be a list")
            return []
        if non_empty and not value:
            self.err(path, "must not be empty")
        return [(f"{path}[{i}]", item) for i, item in enumerate(value)]

    def string(self, value: Any, path: str, reason: str = "must be a string") -> str | None:
        """`value` if it is a string; else the problem `reason`."""
        if isinstance(value, str):
            return value
        self.err(path, reason)
        return None

    def boolean(self, value: Any, path: str) -> bool | None:
        """`value` if it is true or false."""
        if isinstance(value, bool):
            return value
        self.err(path, "must be true or false")
        return None
