"""Generators and tools for a configuration's files: :mod:`~accel.build.generate` (Verilog,
manifest, C header, ISA document, all from :mod:`accel.spec.isa`), :mod:`~accel.build.synth`
(Yosys + nextpnr reports) and the command line (:mod:`~accel.build.cli`)."""
