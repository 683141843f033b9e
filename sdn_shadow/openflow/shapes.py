"""Flow-adds packed by shape: one precompiled struct and function per layout of match and actions.

A fabric's flows come in few shapes (which match fields, masked or not, which
instructions and actions) and many values. For each shape met, `compile_shape`
writes one small function that reads a flow's values in a fixed order and
hands them, with the shape's constant bytes (headers, lengths, padding), to
one precompiled `struct.Struct.pack`: one C call per flow instead of one
Python call per match field, action and instruction.

A compiled function checks the shape as it reads (field names, instruction
and action types) and returns None when the flow has another shape; any
value it cannot pack makes it raise. Either way `flow_add_packer` falls back
to the general packer (`wire`), so errors and odd values behave exactly as
there; the tests compare both byte for byte. Nothing here caches a flow's
bytes, nor any value: only the compiled packer of each shape is kept.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable

from sdn_shadow.openflow.messages import (
    MATCH_FIELDS,
    OFPG_ANY,
    OFPP_ANY,
    OFPVID_PRESENT,
    ApplyActions,
    Flow,
    FlowAdd,
    GotoTable,
    GroupAction,
    MeterInstruction,
    Output,
    PopVlan,
    PushVlan,
    RegMove,
    SetField,
    WriteActions,
    WriteMetadata,
)
from sdn_shadow.openflow.oxm import CT_FIELDS, MOVE_BITS, OXM_FIELDS

OFP_VERSION = 0x04
OFPT_FLOW_MOD = 14
OFP_NO_BUFFER = 0xFFFFFFFF
OFPMT_OXM = 1
_OFPIT_APPLY_ACTIONS, _OFPIT_WRITE_ACTIONS = 4, 3
_OFPAT_SET_FIELD = 25
_OFPAT_EXPERIMENTER, NX_EXPERIMENTER_ID, NXAST_REG_MOVE = 0xFFFF, 0x00002320, 6

#: What a compiled packer takes and gives: (flow, xid) -> the flow-add, or None (another shape).
Compiled = Callable[[Flow, int], "bytes | None"]
#: An instruction's shape: its type's name and, for an action list, each action's shape:
#: the action type's name, "SetField:<field>" or "RegMove:<src>:<dst>".
InstructionShape = tuple[str, tuple[str, ...]]
#: A flow's shape: (name, masked) per match item in canonical order, and its instructions'.
Shape = tuple[tuple[tuple[str, bool], ...], tuple[InstructionShape, ...]]

#: Actions and instructions of fixed layout: OFPAT/OFPIT type, length, padding after the
#: type and length, (struct code, attribute) of each value, padding at the end.
_Fixed = tuple[int, int, int, tuple[tuple[str, str], ...], int]
_FIXED: dict[type, _Fixed] = {
    Output: (0, 16, 0, (("I", "port"), ("H", "max_len")), 6),
    GroupAction: (22, 8, 0, (("I", "group_id"),), 0),
    PushVlan: (17, 8, 0, (("H", "ethertype"),), 2),
    PopVlan: (18, 8, 4, (), 0),
    GotoTable: (1, 8, 0, (("B", "table_id"),), 3),
    WriteMetadata: (2, 24, 4, (("Q", "metadata"), ("Q", "mask")), 0),
    MeterInstruction: (6, 8, 0, (("I", "meter_id"),), 0),
}
_FIXED_ACTIONS = frozenset({Output, GroupAction, PushVlan, PopVlan})
_FIXED_INSTRUCTIONS = frozenset({GotoTable, WriteMetadata, MeterInstruction})
_ACTION_LISTS: dict[type, int] = {
    ApplyActions: _OFPIT_APPLY_ACTIONS, WriteActions: _OFPIT_WRITE_ACTIONS,
}
#: The types a compiled packer names, by name.
_TYPES: dict[str, type] = {t.__name__: t for t in (*_FIXED, *_ACTION_LISTS, SetField, RegMove)}
_INT_CODES = {1: "B", 2: "H", 4: "I", 8: "Q"}

_CACHE_LIMIT = 1 << 16


# --- shapes ------------------------------------------------------------------


def _action_shape(action: object) -> str | None:
    """The shape of one action (None: the general packer's)."""
    kind = type(action)
    if kind is SetField:
        name = action.field  # type: ignore[attr-defined]
        if name in CT_FIELDS or name not in OXM_FIELDS:
            return None  # the general packer's error
        return f"SetField:{name}"
    if kind is RegMove:
        src, dst = action.src, action.dst  # type: ignore[attr-defined]
        if dst in CT_FIELDS or src not in OXM_FIELDS or dst not in OXM_FIELDS:
            return None  # the general packer's error
        return f"RegMove:{src}:{dst}"
    return kind.__name__ if kind in _FIXED_ACTIONS else None


def shape_of(flow: Flow) -> Shape | None:
    """The shape of `flow`, or None if `compile_shape` leaves it to the general packer.

    Ct and OutputTrunc actions (rare) and a match naming a field twice are
    left to the general packer.
    """
    match_shape = tuple((name, type(value) is tuple) for name, value in flow.match)
    names = {name for name, _ in match_shape}
    if len(names) != len(match_shape) or not names <= OXM_FIELDS.keys():
        return None
    insts: list[InstructionShape] = []
    for inst in flow.instructions:
        kind = type(inst)
        if kind in _ACTION_LISTS:
            actions = tuple(_action_shape(a) for a in inst.actions)  # type: ignore[union-attr]
            if None in actions:
                return None
            insts.append((kind.__name__, actions))  # type: ignore[arg-type]
        elif kind in _FIXED_INSTRUCTIONS:
            insts.append((kind.__name__, ()))
        else:
            return None
    return match_shape, tuple(insts)


# --- laying a shape out --------------------------------------------------------


class _Layout:
    """A flow-add being laid out: struct codes, the expression feeding each, and guards."""

    def __init__(self) -> None:
        self.codes: list[str] = []
        self.exprs: list[str | bytes] = []  # bytes: a run of constant bytes
        self.lines: list[str] = []
        self.names = 0

    def temporary(self) -> str:
        """A fresh local variable name."""
        self.names += 1
        return f"t{self.names}"

    def const(self, code: str, *values: int) -> None:
        """Fixed bytes: merged with their neighbours into one constant argument."""
        packed = struct.pack("!" + code, *values)
        if not packed:
            return
        if self.exprs and isinstance(self.exprs[-1], bytes):
            self.exprs[-1] += packed
        else:
            self.codes.append("")
            self.exprs.append(packed)

    def value(self, code: str, expr: str) -> None:
        """One value read from the flow by the Python expression `expr`."""
        self.codes.append(code)
        self.exprs.append(expr)

    def guard(self, condition: str) -> None:
        """Return None (another shape) unless `condition` holds."""
        self.lines.append(f"if not ({condition}): return None")

    def extend(self, other: _Layout) -> None:
        """Append `other`'s layout and lines."""
        for code, expr in zip(other.codes, other.exprs, strict=True):
            if isinstance(expr, bytes) and self.exprs and isinstance(self.exprs[-1], bytes):
                self.exprs[-1] += expr
            else:
                self.codes.append(code)
                self.exprs.append(expr)
        self.lines.extend(other.lines)

    def size(self) -> int:
        """Bytes laid out so far."""
        return sum(len(e) if isinstance(e, bytes) else struct.calcsize("!" + c)
                   for c, e in zip(self.codes, self.exprs, strict=True))

    def format(self) -> str:
        """The struct format of the whole layout."""
        return "!" + "".join(f"{len(e)}s" if isinstance(e, bytes) else c
                             for c, e in zip(self.codes, self.exprs, strict=True))


def _field_value(layout: _Layout, name: str, expr: str) -> None:
    """One value of match or set-field `name`, read by `expr`.

    A MAC must make six bytes (else the general packer's error); an IPv4
    address that `inet_aton` cannot read raises, and so goes to the general
    packer too.
    """
    kind = MATCH_FIELDS[name][1]
    if kind == "mac":
        raw = layout.temporary()
        layout.lines.append(f"{raw} = FROMHEX({expr}.replace(':', ''))")
        layout.guard(f"len({raw}) == 6")
        layout.value("6s", raw)
    elif kind == "ip":
        layout.value("4s", f"ATON({expr})")
    else:
        layout.value(_INT_CODES[OXM_FIELDS[name][2]], expr)


def _oxm_header(name: str, masked: bool) -> int:
    """The OXM TLV header of field `name`."""
    oxm_class, number, size = OXM_FIELDS[name]
    return (oxm_class << 16) | (number << 9) | (0x100 | 2 * size if masked else size)


def _lay_match(layout: _Layout, match_shape: tuple[tuple[str, bool], ...]) -> None:
    """The ofp_match: items read in canonical order, laid out in OXM (class, number) order.

    That is the order of the general packer, which sorts the TLVs' bytes, and of OS-Ken.
    """
    n = len(match_shape)
    if n:
        targets = "".join(f"(n{i}, v{i}), " for i in range(n))
        layout.lines.append(f"{targets}= flow.match")
        layout.guard(" and ".join(f"n{i} == {name!r}" for i, (name, _) in enumerate(match_shape)))
    else:
        layout.guard("not flow.match")
    body = sum(4 + OXM_FIELDS[name][2] * (1 + masked) for name, masked in match_shape)
    layout.const("HH", OFPMT_OXM, 4 + body)
    for i in sorted(range(n), key=lambda i: OXM_FIELDS[match_shape[i][0]][:2]):
        name, masked = match_shape[i]
        layout.const("I", _oxm_header(name, masked))
        if masked:
            layout.guard(f"type(v{i}) is tuple")
            _field_value(layout, name, f"v{i}[0]")
            _field_value(layout, name, f"v{i}[1]")
        else:
            _field_value(layout, name, f"v{i}")
    layout.const(f"{-(4 + body) % 8}x")


def _set_field_length(name: str) -> int:
    """Bytes of an OFPAT_SET_FIELD of field `name`, padded to 8."""
    length = 8 + OXM_FIELDS[name][2]
    return length + -length % 8


def _lay_fixed(layout: _Layout, kind: type, var: str) -> None:
    """An action or instruction of fixed layout, read from variable `var`."""
    code, length, pad, fields, tail = _FIXED[kind]
    layout.guard(f"type({var}) is {kind.__name__}")
    layout.const(f"HH{pad}x", code, length)
    for struct_code, attribute in fields:
        layout.value(struct_code, f"{var}.{attribute}")
    layout.const(f"{tail}x")


def _lay_reg_move(layout: _Layout, src: str, dst: str, var: str) -> None:
    """Nicira NXAST_REG_MOVE from field `src` to `dst`, read from variable `var`."""
    layout.guard(f"type({var}) is RegMove and {var}.src == {src!r} and {var}.dst == {dst!r}")
    for name, ofs in ((src, f"{var}.src_ofs"), (dst, f"{var}.dst_ofs")):  # else its error
        layout.guard(f"{var}.n_bits >= 1 and {ofs} >= 0 and {ofs} + {var}.n_bits <= "
                     f"{MOVE_BITS[name]}")
    layout.const("HHIH", _OFPAT_EXPERIMENTER, 24, NX_EXPERIMENTER_ID, NXAST_REG_MOVE)
    for attribute in ("n_bits", "src_ofs", "dst_ofs"):
        layout.value("H", f"{var}.{attribute}")
    layout.const("II", _oxm_header(src, False), _oxm_header(dst, False))


def _lay_action(layout: _Layout, action: str, var: str) -> None:
    """One action of a compiled shape, read from variable `var`."""
    if action.startswith("RegMove:"):
        _, src, dst = action.split(":")
        _lay_reg_move(layout, src, dst, var)
        return
    if not action.startswith("SetField:"):
        _lay_fixed(layout, _TYPES[action], var)
        return
    name = action.removeprefix("SetField:")
    layout.guard(f"type({var}) is SetField and {var}.field == {name!r}")
    if name == "vlan_vid":  # without OFPVID_PRESENT: the general packer's error
        layout.guard(f"type({var}.value) is int and {var}.value & {OFPVID_PRESENT}")
    length = _set_field_length(name)
    layout.const("HHI", _OFPAT_SET_FIELD, length, _oxm_header(name, False))
    _field_value(layout, name, f"{var}.value")
    layout.const(f"{length - 8 - OXM_FIELDS[name][2]}x")


def _action_length(action: str) -> int:
    """Bytes of one action of a compiled shape."""
    if action.startswith("SetField:"):
        return _set_field_length(action.removeprefix("SetField:"))
    if action.startswith("RegMove:"):
        return 24
    return _FIXED[_TYPES[action]][1]


def _lay_instructions(layout: _Layout, insts: tuple[InstructionShape, ...]) -> None:
    """The instructions of a compiled shape, in the order `Flow` keeps them."""
    if not insts:
        layout.guard("not flow.instructions")
        return
    layout.lines.append("".join(f"i{k}, " for k in range(len(insts))) + "= flow.instructions")
    for k, (name, actions) in enumerate(insts):
        kind = _TYPES[name]
        if kind in _FIXED_INSTRUCTIONS:
            _lay_fixed(layout, kind, f"i{k}")
            continue
        layout.guard(f"type(i{k}) is {name}")
        layout.const("HH4x", _ACTION_LISTS[kind], 8 + sum(_action_length(a) for a in actions))
        if not actions:
            layout.guard(f"not i{k}.actions")
            continue
        names = [f"a{k}_{j}" for j in range(len(actions))]
        layout.lines.append("".join(f"{a}, " for a in names) + f"= i{k}.actions")
        for action, var in zip(actions, names, strict=True):
            _lay_action(layout, action, var)


def source(shape: Shape) -> tuple[str, str]:
    """The struct format and the Python source of the packer of `shape`."""
    match_shape, insts = shape
    body = _Layout()
    _lay_match(body, match_shape)
    _lay_instructions(body, insts)
    whole = _Layout()
    whole.const("BBH", OFP_VERSION, OFPT_FLOW_MOD, 48 + body.size())
    whole.value("I", "xid")
    whole.value("Q", "flow.cookie")
    whole.const("8x")  # cookie_mask
    whole.value("B", "flow.table_id")
    whole.const("5x")  # OFPFC_ADD, idle and hard timeouts
    whole.value("H", "flow.priority")
    whole.const("III4x", OFP_NO_BUFFER, OFPP_ANY, OFPG_ANY)  # and no flags
    whole.extend(body)
    args = ", ".join(repr(e) if isinstance(e, bytes) else e for e in whole.exprs)
    lines = ["def pack(flow, xid):", *(f"    {line}" for line in whole.lines),
             f"    return PACK({args})"]
    return whole.format(), "\n".join(lines) + "\n"


def compile_shape(shape: Shape) -> Compiled:
    """The packer of flow-adds of `shape`: (flow, xid) -> bytes, or None for another shape."""
    fmt, text = source(shape)
    scope: dict[str, object] = {"PACK": struct.Struct(fmt).pack, "FROMHEX": bytes.fromhex,
                                "ATON": socket.inet_aton, **_TYPES}
    exec(compile(text, f"<flow-add of shape {shape!r}>", "exec"), scope)
    packer: Compiled = scope["pack"]  # type: ignore[assignment]
    return packer


# --- packing -------------------------------------------------------------------


def flow_add_packer(general: Callable[[FlowAdd, int], bytes]) -> Callable[[FlowAdd, int], bytes]:
    """A packer of `FlowAdd`s: the compiled packer of their shape, else `general`.

    It tries the shape it packed last first (a plan's flows come in runs of
    one shape), then looks the flow's shape up, compiling it once. Whatever
    a compiled packer cannot pack goes to `general`, which packs it or says
    what is wrong with it.
    """
    compiled: dict[Shape, Compiled] = {}
    last: Compiled = _no_shape

    def pack(msg: FlowAdd, xid: int) -> bytes:
        nonlocal last
        flow = msg.flow
        try:
            packed = last(flow, xid)
        except Exception:  # noqa: BLE001 - another shape, or a bad value: see below
            packed = None
        if packed is not None:
            return packed
        packer = _lookup(compiled, flow)
        if packer is not None:
            try:
                packed = packer(flow, xid)
            except Exception:  # noqa: BLE001 - the general packer says what is wrong
                packed = None
            if packed is not None:
                last = packer
                return packed
        return general(msg, xid)

    return pack


def _no_shape(flow: Flow, xid: int) -> None:
    """The packer of no shape: None for every flow."""
    return None


def _lookup(compiled: dict[Shape, Compiled], flow: Flow) -> Compiled | None:
    """The compiled packer of `flow`'s shape, compiled now if new (None: the general packer's)."""
    try:
        shape = shape_of(flow)
    except Exception:  # noqa: BLE001 - not a flow we know: the general packer's
        return None
    if shape is None:
        return None
    packer = compiled.get(shape)
    if packer is None:
        if len(compiled) >= _CACHE_LIMIT:
            compiled.clear()
        packer = compiled[shape] = compile_shape(shape)
    return packer
