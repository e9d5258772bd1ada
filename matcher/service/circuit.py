"""Many Kleene formulas evaluated at once, one byte per formula.

A match plan holds some 14,000 distinct criteria over some 6,000 atoms.
Evaluating them one by one costs a Python operation per node; here every
formula is compiled once into a levelled circuit of two-input AND / OR gates,
and a request evaluates a whole level with a handful of vectorized operations:
gather the inputs of every gate of the level (Arrow ``take`` over the wires
so far, one byte each), then ``bit_wise_and`` or ``bit_wise_or``.  Arrow
(pyarrow, already the screening engine's column format) gathers ten times
faster than ``operator.itemgetter``.

Why ``&`` and ``|`` are Kleene logic: a value is a byte whose bit 0 says
"certainly true" and bit 1 says "possibly true" (the certain/possible pair of
``criteria.rules``): fail ``0b00``, unknown ``0b10``, pass ``0b11``.  Kleene
AND is then the bitwise AND of the pairs, Kleene OR the bitwise OR, lane by
lane, with no carry between the bytes of the integer.  Negation swaps and
inverts the bits; it is pushed down to the leaves (De Morgan holds in Kleene
logic), where each atom is available negated too.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

FAIL, UNKNOWN, PASS = 0b00, 0b10, 0b11
CODE_OF = {False: FAIL, None: UNKNOWN, True: PASS}
VALUE_OF: dict[int, bool | None] = {FAIL: False, UNKNOWN: None, PASS: True}
NEGATE = bytes.maketrans(bytes([FAIL, UNKNOWN, PASS]), bytes([PASS, UNKNOWN, FAIL]))


# Expressions handed to the compiler: ("leaf", i), ("const", code),
# ("not", e), ("and", (e, ...)), ("or", (e, ...)).
Expr = tuple


def uint8_array(data: bytes | bytearray) -> pa.Array:
    """Bytes as an Arrow uint8 array, without copying (a ``bytearray`` is
    copied once, so that it may grow afterwards)."""
    if isinstance(data, bytearray):
        data = bytes(data)
    return pa.Array.from_buffers(pa.uint8(), len(data), [None, pa.py_buffer(data)])


def array_bytes(array: pa.Array) -> bytes:
    """A uint8 Arrow array's bytes."""
    n = len(array)
    if not n:
        return b""
    return array.buffers()[1].to_pybytes()[array.offset:array.offset + n]


class Gather:
    """Picks fixed positions out of a byte string (or a uint8 array)."""

    def __init__(self, indexes: Sequence[int]):
        self.n = len(indexes)
        self.indexes = pa.array(indexes, pa.int32())

    def __call__(self, data: pa.Array) -> pa.Array:
        return data.take(self.indexes)


@dataclass
class _Level:
    and_left: Gather
    and_right: Gather
    or_left: Gather
    or_right: Gather


class Circuit:
    """Formulas over ``n_leaves`` three-valued leaves.

    Wires: ``[0, n)`` the leaves, ``[n, 2n)`` the negated leaves, then the
    constants fail, unknown, pass, then the gates, level after level.
    """

    def __init__(self, n_leaves: int):
        self.n_leaves = n_leaves
        self._const = {FAIL: 2 * n_leaves, UNKNOWN: 2 * n_leaves + 1, PASS: 2 * n_leaves + 2}
        self._level: dict[int, int] = {}  # gate wire -> level (leaves and constants: 0)
        self._gates: dict[tuple[str, int, int], int] = {}  # shared sub-formulas
        self._pending: list[tuple[str, int, int, int]] = []  # op, left, right, temporary id
        self._next = -1  # temporary gate ids are negative until the circuit is levelled
        self._levels: list[_Level] = []
        self._final: dict[int, int] = {}

    # ------------------------------------------------------------------ building

    def add(self, expr: Expr) -> int:
        """The wire (temporary id until ``finish``) computing ``expr``."""
        return self._lower(expr, False)

    def _lower(self, expr: Expr, negated: bool) -> int:
        head = expr[0]
        if head == "leaf":
            return expr[1] + (self.n_leaves if negated else 0)
        if head == "const":
            code = expr[1]
            if negated:
                code = {FAIL: PASS, UNKNOWN: UNKNOWN, PASS: FAIL}[code]
            return self._const[code]
        if head == "not":
            return self._lower(expr[1], not negated)
        is_and = (head == "and") != negated  # De Morgan
        wires = [self._lower(e, negated) for e in expr[1]]
        return self._join("and" if is_and else "or", wires)

    def _join(self, op: str, wires: list[int]) -> int:
        absorbing = self._const[FAIL if op == "and" else PASS]
        neutral = self._const[PASS if op == "and" else FAIL]
        unique = sorted({w for w in wires if w != neutral})
        if absorbing in unique:
            return absorbing
        if not unique:
            return neutral
        # Pair the two shallowest wires first: the fewest levels.
        heap = [(self._depth(w), w) for w in unique]
        heapq.heapify(heap)
        while len(heap) > 1:
            (da, a), (db, b) = heapq.heappop(heap), heapq.heappop(heap)
            heapq.heappush(heap, (max(da, db) + 1, self._gate(op, a, b)))
        return heap[0][1]

    def _depth(self, wire: int) -> int:
        return self._level.get(wire, 0)

    def _gate(self, op: str, a: int, b: int) -> int:
        key = (op, min(a, b), max(a, b))
        wire = self._gates.get(key)
        if wire is None:
            wire = self._next
            self._next -= 1
            self._gates[key] = wire
            self._level[wire] = max(self._depth(a), self._depth(b)) + 1
            self._pending.append((op, key[1], key[2], wire))
        return wire

    def finish(self) -> None:
        """Number the gates level by level and prepare the gathers."""
        by_level: dict[int, list[tuple[str, int, int, int]]] = {}
        for gate in self._pending:
            by_level.setdefault(self._level[gate[3]], []).append(gate)
        final = {}
        next_wire = 2 * self.n_leaves + 3
        for level in sorted(by_level):
            gates = sorted(by_level[level], key=lambda g: g[0])  # ANDs first, then ORs
            ands = [g for g in gates if g[0] == "and"]
            ors = [g for g in gates if g[0] == "or"]
            for g in ands + ors:
                final[g[3]] = next_wire
                next_wire += 1
            real = lambda w: final.get(w, w)  # noqa: E731 - inputs are of earlier levels
            self._levels.append(_Level(
                Gather([real(g[1]) for g in ands]), Gather([real(g[2]) for g in ands]),
                Gather([real(g[1]) for g in ors]), Gather([real(g[2]) for g in ors])))
        self._final = final
        self.n_wires = next_wire

    def wire(self, temporary: int) -> int:
        """The final wire number of what ``add`` returned."""
        return self._final.get(temporary, temporary)

    @property
    def n_gates(self) -> int:
        return len(self._pending)

    # ------------------------------------------------------------------ evaluating

    def evaluate(self, leaves: bytes | bytearray) -> pa.Array:
        """Every wire's value (a uint8 array), the leaves' codes given."""
        wires = bytearray(leaves)
        wires += leaves.translate(NEGATE)
        wires += bytes((FAIL, UNKNOWN, PASS))
        for lv in self._levels:
            so_far = uint8_array(wires)
            if lv.and_left.n:
                wires += array_bytes(pc.bit_wise_and(lv.and_left(so_far), lv.and_right(so_far)))
            if lv.or_left.n:
                wires += array_bytes(pc.bit_wise_or(lv.or_left(so_far), lv.or_right(so_far)))
        return uint8_array(wires)
