"""The one source of truth: the instruction set (:mod:`~accel.spec.isa`), the configuration
(:mod:`~accel.spec.config`) and the hardware's timing constants (:mod:`~accel.spec.timing`),
all free of Amaranth so that the performance model, the firmware tools and the generators share
them."""
