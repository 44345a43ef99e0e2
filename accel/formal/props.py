"""Named properties: Amaranth ``Assert``/``Assume``/``Cover`` that sby reports by name.

sby names a failed assertion or an unreached cover by its source location, so every
property made here carries its name as its location (``name:1``); :func:`accel.formal.toolchain`
reads the names back from the log.
"""

from __future__ import annotations

from amaranth.hdl import Assert, Assume, Cover, ResetSignal

__all__ = ["Properties"]


class Properties:
    """Collects the named properties of one harness.

    ``check`` adds an assertion, ``assume`` an environment assumption, ``cover`` a reachability
    goal. All of them hold only outside reset (the design and the monitors restart together).
    ``asserts``/``covers`` list the names in declaration order; ``notes`` says per name what it
    means (for the report).
    """

    def __init__(self, domain: str = "sync", only=None, exclude=()):
        self.domain = domain
        self.only = None if only is None else set(only)
        self.exclude = set(exclude)
        self.asserts: list[str] = []
        self.covers: list[str] = []
        self.assumes: list[str] = []
        self.notes: dict[str, str] = {}

    def _add(self, m, kind, name, expr, note):
        prop = kind(expr)
        prop.src_loc = (name, 1)
        with m.If(~ResetSignal(self.domain)):
            m.d.comb += prop
        self.notes.setdefault(name, note)

    def selected(self, name: str) -> bool:
        """Assertions and covers can be selected by name (``only``, ``exclude``), so one
        harness can be proven in parts with different methods; assumptions always apply."""
        return name not in self.exclude and (self.only is None or name in self.only)

    def check(self, m, name: str, expr, note: str = "") -> None:
        if not self.selected(name):
            return
        if name not in self.asserts:
            self.asserts.append(name)
        self._add(m, Assert, name, expr, note)

    def assume(self, m, name: str, expr, note: str = "") -> None:
        if name not in self.assumes:
            self.assumes.append(name)
        self._add(m, Assume, name, expr, note)

    def cover(self, m, name: str, expr, note: str = "") -> None:
        if not self.selected(name):
            return
        if name not in self.covers:
            self.covers.append(name)
        self._add(m, Cover, name, expr, note)
