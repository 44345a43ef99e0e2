"""Simulation models and runners: memory and stream models for the Amaranth simulator
(:mod:`~accel.verif.models`), the Amaranth-simulator runner (:mod:`~accel.verif.amaranth_sim`),
the cocotb + Verilator runner (:mod:`~accel.verif.rtlsim`) and the simulator tool set-up
(:mod:`~accel.verif.tools`)."""
