"""The formal proofs on the reduced 2x2 configuration, and mutants the same proofs must catch."""

import pytest

from accel.formal.mutants import MUTANTS
from accel.formal.proofs import formal_config, proofs, run_proof

CONFIG = formal_config(2, 2)
#: The whole-accelerator BMC runs in its own test below (depth 12); the tiny-layer proofs on
#: the whole accelerator take many minutes (`python -m accel.formal --layer`, docs/formal.md).
SLOW = ("top", "layer", "layer_covers")
CI_PROOFS = [p.name for p in proofs(CONFIG) if p.name not in SLOW]
CI_MUTANTS = [name for name, (_, _, proof, _) in MUTANTS.items() if proof not in SLOW]


def _proof(name, factories=None):
    (proof,) = [p for p in proofs(CONFIG, factories=factories) if p.name == name]
    return proof


@pytest.mark.parametrize("name", CI_PROOFS)
def test_proof_passes(name):
    results, sby = run_proof(_proof(name))
    assert sby.status == "PASS", sby.log[-3000:]
    assert results, "the proof has no properties"
    assert all(r.status == "PASS" for r in results), [r for r in results if r.status != "PASS"]


def test_whole_accelerator_bmc_and_invalid_descriptor_cover():
    """AcceleratorTop with a free CPU and AXI slave: every property to depth 12, and START of
    the all-zero reset descriptor ends with WAIT answering ERR_DESCRIPTOR / ZERO_SIZE."""
    (proof,) = [p for p in proofs(CONFIG, depth=12) if p.name == "top"]
    results, sby = run_proof(proof, covers=True)
    assert sby.status == "PASS", sby.log[-3000:]
    asserts = [r for r in results if r.kind == "assert"]
    assert asserts and all(r.status == "PASS" for r in asserts)
    covers = {r.name: r.status for r in results if r.kind == "cover"}
    assert covers["cover.invalid_descriptor_answered"] == "PASS"


def test_descriptor_proof_present():
    assert "descriptor" in CI_PROOFS and "layer" not in CI_PROOFS


@pytest.mark.parametrize("mutant", CI_MUTANTS)
def test_mutant_is_caught(mutant):
    key, factory, name, caught = MUTANTS[mutant]
    results, sby = run_proof(_proof(name, {key: factory}))
    assert sby.status == "FAIL", sby.log[-3000:]
    failed = {r.name for r in results if r.status == "FAIL"}
    assert caught in failed, (failed, sby.log[-3000:])
