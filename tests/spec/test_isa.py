"""accel.spec.isa: the one instruction table."""

import pytest

from accel.spec import isa
from accel.spec.config import AccelConfig


def test_function_id_is_funct7_funct3():
    assert isa.function_id("SET", 0) == 0
    assert isa.function_id("CTRL", 1) == (1 << 3) | 2
    assert isa.function_id("INFO", 127) == (127 << 3) | 4
    with pytest.raises(ValueError, match="funct7 must be in 0..127"):
        isa.function_id("SET", 128)


@pytest.mark.parametrize(
    "table", [isa.REGISTERS, isa.CONTROL_OPS, isa.STATUS_BITS, isa.COUNTERS, isa.INFO]
)
def test_tables_have_unique_names_and_numbers(table):
    assert len({e.name for e in table}) == len(table)
    assert len({e.index for e in table}) == len(table)
    assert all(0 <= e.index < 128 and e.doc for e in table)


def test_status_bits_and_check_codes_fit_the_status_word():
    assert all(s.bit < isa.ERR_CODE_SHIFT for s in isa.STATUS_BITS)
    assert all(0 < c.code < 256 for c in isa.DESCRIPTOR_CHECKS)
    assert isa.ERROR_MASK == sum(1 << s.bit for s in isa.STATUS_BITS if s.name.startswith("ERR"))


def test_info_values_cover_every_info_item():
    config = AccelConfig(rows=4, cols=8)
    values = isa.info_values(config)
    assert set(values) == {item.name for item in isa.INFO}
    assert (values["ROWS"], values["COLS"], values["VERSION"]) == (4, 8, isa.ISA_VERSION)
