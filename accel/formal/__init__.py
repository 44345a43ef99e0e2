"""Formal proofs of the accelerator's control port and AXI4 master (``python -m accel.formal``).

Amaranth ``Assert``/``Assume``/``Cover`` on the real components of :mod:`accel.hw` in free
environments (:mod:`accel.formal.harness`), converted with ``amaranth.back.rtlil`` and proven
by SymbiYosys with Boolector, all from PyPI (:mod:`accel.formal.toolchain`). See
``docs/formal.md`` for the properties, the methods and the run times.
"""

from accel.formal.proofs import Proof, PropertyResult, formal_config, proofs, run_proof

__all__ = ["PropertyResult", "Proof", "formal_config", "proofs", "run_proof"]
