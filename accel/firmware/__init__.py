"""The RISC-V side: firmware build (:mod:`~accel.firmware.build`), the model memory image
(:mod:`~accel.firmware.image`), firmware runs on the ISS (:mod:`~accel.firmware.run`) and the
RV32IM instruction-set simulator (:mod:`accel.firmware.riscv`)."""
