"""Read a YAML file as plain data: duplicate keys rejected, base-60 and overlong integers
marked; `number_problem` bounds every number a validator accepts."""

from __future__ import annotations

import errno
import math
import os
import re
import stat
from collections.abc import Hashable
from typing import Any

import yaml

from .model import ConfigError

MAX_DOCUMENT_BYTES = 16 << 20
"""The largest config, template or token file read (a 10,000-host fabric is about 1 MiB)."""


def read_regular(path: str | os.PathLike[str], limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """A regular file's bytes, at most `limit`: a FIFO or device (which could block or never
    end), a directory or a larger file raise OSError with the reason as `strerror`."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO: no wait
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit >> 20} MiB" if limit >= 1 << 20
                      else f"larger than {limit} bytes")
    return data


def read_document(path: str | os.PathLike[str]) -> Any:
    """The YAML file at `path` as data, unvalidated (unreadable file or bad YAML: `ConfigError`)."""
    source = os.fsdecode(path)
    try:
        text = read_regular(path)
    except OSError as exc:
        raise ConfigError([("<file>", f"cannot read: {exc.strerror or exc}")], source) from exc
    return read_text(text, source)


def read_text(text: str | bytes, source: str = "") -> Any:
    """YAML (or JSON) text as data, as `read_document` reads a file (bad YAML: `ConfigError`)."""
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise ConfigError([("<yaml>", _yaml_reason(exc))], source) from exc
    except RecursionError:
        raise ConfigError([("<yaml>", "nested too deeply")], source) from None


class Base60Int(int):
    """An int YAML 1.1 read from base-60 text such as `12:34:56`; keeps the text."""

    text: str

    def __new__(cls, value: int, text: str) -> Base60Int:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj


MAX_MAGNITUDE = 10**15
"""The largest number (in size) a setting may be: beyond it, floats lose whole units and
arithmetic on seconds or bytes overflows."""
MAX_NODES = 100_000
"""Values a document's aliases may add when expanded: `&a [*b, *b, ...]` nested a few times
stands for billions, which every later walk over the data would visit. (A document
without aliases stands for just what it holds, whatever its size.)"""
MAX_DIGITS = 40
"""Longer integers are kept as text (`LongNumber`): Python refuses to convert 4,300+ digits
and a float cannot hold 309+."""


class LongNumber(str):
    """An integer YAML read with more than MAX_DIGITS characters, kept as its text."""


def number_problem(value: Any) -> str | None:
    """Why a YAML or JSON number cannot be a setting (too large, not finite); None if it can."""
    if isinstance(value, LongNumber):
        return f"too large: a number of {len(value)} characters (at most {MAX_MAGNITUDE:.0e})"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if isinstance(value, int | float) and not isinstance(value, bool) and \
            abs(value) > MAX_MAGNITUDE:
        return f"too large: must be at most {MAX_MAGNITUDE:.0e} in size"
    return None


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, marks base-60 integers and reads only
    true/false as booleans (YAML 1.2): `on`, `off`, `yes` and `no` stay strings, so a key
    such as `detect.on` is not read as `True`."""

    def compose_document(self) -> yaml.Node | None:
        """The document's node graph, refused when its aliases expand it past MAX_NODES."""
        node = super().compose_document()
        sizes: dict[int, int] = {}
        if node is not None and _expanded(node, sizes) - len(sizes) > MAX_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"its aliases add over {MAX_NODES:,} values", node.start_mark)
        return node

    def construct_yaml_int(self, node: yaml.ScalarNode) -> Any:
        text = str(node.value)
        if len(text) > MAX_DIGITS:
            return LongNumber(text)
        value = super().construct_yaml_int(node)
        return Base60Int(value, text) if ":" in text else value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False
                          ) -> dict[Hashable, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[object] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # unhashable: the base class reports it
                    continue
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found duplicate key {key!r}",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)


def _expanded(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes `node` stands for with every alias expanded (each shared node sized
    once, so this costs the graph's size, not the expansion's)."""
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = 2 * MAX_NODES  # a cycle (a recursive alias) counts as too many
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded(k, sizes) + _expanded(v, sizes) for k, v in node.value)
    sizes[id(node)] = size
    return size


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """One line for a YAML error, with 1-based line and column."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        reason = f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem
        if exc.context and exc.problem and exc.context_mark:
            cm = exc.context_mark
            reason += f" ({exc.context} at line {cm.line + 1}, column {cm.column + 1})"
        return reason
    return " ".join(str(exc).split())
