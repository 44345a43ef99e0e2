"""The accelerator in a VexRiscv SoC (docs/soc.md).

:mod:`~accel.soc.wishbone` (signature, arbiter, decoder), :mod:`~accel.soc.ram_ports` (AXI4
and Wishbone bridges onto RAM ports), :mod:`~accel.soc.mmio`, :mod:`~accel.soc.interconnect`
(all of them between the masters and the RAM), :mod:`~accel.soc.top` (the SoC with the
VexRiscv core and ``accel_top``), :mod:`~accel.soc.vexriscv` (the wheel's core),
:mod:`~accel.soc.memory_map`, :mod:`~accel.soc.build` (its Verilog), :mod:`~accel.soc.sim`
(the Verilator model and C++ harness) and :mod:`~accel.soc.run` (firmware runs on it).
"""
