"""The arrays the compiled day reads and writes, allocated once per run, and named views into them.

Every state array a kernel touches lives in a pack laid out by :mod:`sim.kernels.layout`; the
engine and the parties take their views when they are built and update them in place (a view
rebound to a new array would leave the kernels reading the old one).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

import numpy as np

from sim.kernels.layout import AC, ACM, AS, C1, CB, CK, CM, FLAG, S1, SB, SI
from sim.model.world import World


class Packs:
    """The packs of one run: shapes [row, arm, commodity (, manufacturer | supplier)] and [row, commodity ...].

    Attributes:
        ac, acm, as_: the arms' [A, C], [A, C, M] and [A, S] arrays (AC, ACM, AS).
        c1, cb, cm: per commodity [C] floats and flags, per [C, M] (C1, CB, CM).
        s1, sb, si: per supplier [S] floats, flags and integers (S1, SB, SI).
        flags: the day's switches (FLAG).
        p_ck: the parties' [C, K] arrays (CK); K = 1 without parties (the kernels skip them).
        p_value: the parties' reference value of desired and consumed tonnes [2, A, M].
        ring: the pipelines by arrival day, manufacturers' and the reserve's [2, R, A, C].
    """

    def __init__(self, world: World, holders: int):
        C, S, M, R = len(world.commodity_ids), len(world.sup_c), len(world.manufacturer_ids), world.ring
        self.ac = np.zeros((len(AC), 2, C))
        self.acm = np.zeros((len(ACM), 2, C, M))
        self.as_ = np.zeros((len(AS), 2, S))
        self.c1 = np.zeros((len(C1), C))
        self.cb = np.zeros((len(CB), C), dtype=bool)
        self.cm = np.zeros((len(CM), C, M))
        self.s1 = np.ones((len(S1), S))
        self.sb = np.zeros((len(SB), S), dtype=bool)
        self.si = np.zeros((len(SI), S), dtype=np.intp)
        self.flags = np.zeros(len(FLAG), dtype=bool)
        self.p_ck = np.zeros((len(CK), C, holders))
        self.p_value = np.zeros((2, 2, M))
        self.ring = np.zeros((2, R, 2, C))


class PackRow:
    """A declared attribute that is a view of one row (or rows) of a pack, taken once on first use.

    Args:
        pack: the attribute of the owner's ``packs`` that holds the pack (``"ac"``).
        row: the row's layout member, or a slice of rows.
        doc: what the row holds, with its shape and unit.
    """

    def __init__(self, pack: str, row: IntEnum | int | slice, doc: str):
        self.pack, self.row, self.__doc__ = pack, row, doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        view = getattr(obj.packs, self.pack)[self.row]
        obj.__dict__[self.name] = view  # later reads are plain attribute look-ups
        return view
