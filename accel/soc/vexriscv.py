"""The VexRiscv core of the SoC: ``VexRiscv_FullCfu.v`` from the ``pythondata-cpu-vexriscv``
wheel, used where the wheel installed it (never copied into this repository).

That build (``GenCoreDefault --csrPluginConfig all --cfu true``): RV32IM, 4 KiB instruction
and data caches (write-through data cache, 32-byte lines), Wishbone ``iBusWishbone_*`` and
``dBusWishbone_*`` masters (30-bit word addresses), a CFU port ``CfuPlugin_bus_cmd_*`` /
``CfuPlugin_bus_rsp_*`` with ``function_id = {funct7, funct3}`` of custom-0, the reset vector
as the input ``externalResetVector``, an undefined ``mtvec`` at reset, addresses with bit 31
set uncached (``StaticMemoryTranslatorPlugin(ioRange = _.msb)``), a synchronous active-high
``reset``. The Verilog module is named ``VexRiscv`` (every build of the wheel is).
"""

from __future__ import annotations

from pathlib import Path

MODULE = "VexRiscv"
FILE_NAME = "VexRiscv_FullCfu.v"

#: The core's ports (name: (direction, width)), as declared in ``VexRiscv_FullCfu.v``.
PORTS = {
    "externalResetVector": ("i", 32),
    "timerInterrupt": ("i", 1),
    "softwareInterrupt": ("i", 1),
    "externalInterruptArray": ("i", 32),
    "CfuPlugin_bus_cmd_valid": ("o", 1),
    "CfuPlugin_bus_cmd_ready": ("i", 1),
    "CfuPlugin_bus_cmd_payload_function_id": ("o", 10),
    "CfuPlugin_bus_cmd_payload_inputs_0": ("o", 32),
    "CfuPlugin_bus_cmd_payload_inputs_1": ("o", 32),
    "CfuPlugin_bus_rsp_valid": ("i", 1),
    "CfuPlugin_bus_rsp_ready": ("o", 1),
    "CfuPlugin_bus_rsp_payload_outputs_0": ("i", 32),
    **{
        f"{bus}Wishbone_{name}": (direction, width)
        for bus in ("iBus", "dBus")
        for name, direction, width in (
            ("CYC", "o", 1),
            ("STB", "o", 1),
            ("ACK", "i", 1),
            ("WE", "o", 1),
            ("ADR", "o", 30),
            ("DAT_MISO", "i", 32),
            ("DAT_MOSI", "o", 32),
            ("SEL", "o", 4),
            ("ERR", "i", 1),
            ("CTI", "o", 3),
            ("BTE", "o", 2),
        )
    },
    "clk": ("i", 1),
    "reset": ("i", 1),
}


class VexRiscvMissing(RuntimeError):
    """The ``pythondata-cpu-vexriscv`` wheel (or its ``VexRiscv_FullCfu.v``) is not there."""


def verilog_path() -> Path:
    """Where the wheel installed ``VexRiscv_FullCfu.v``."""
    try:
        import pythondata_cpu_vexriscv
    except ImportError as error:
        raise VexRiscvMissing(
            "the VexRiscv core is not installed: pip install pythondata-cpu-vexriscv"
        ) from error
    path = Path(pythondata_cpu_vexriscv.data_location) / FILE_NAME
    if not path.is_file():
        raise VexRiscvMissing(f"{path} is missing from the pythondata-cpu-vexriscv wheel")
    return path
