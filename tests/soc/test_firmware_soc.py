"""The firmware on the VexRiscv SoC in Verilator (one cached model build, a few seconds of
simulation): LeNet-5 bit-exact on held-out images, the self-test, ISS == VexRiscv."""

import re

import numpy as np
import pytest

from accel import perf
from accel.firmware import build as firmware
from accel.firmware.riscv import ISS
from accel.firmware.riscv.elf import read_elf
from accel.firmware.riscv.functional import FunctionalBackend
from accel.firmware.run import chain_image, model_elf, run_functional
from accel.ref import lenet
from accel.soc import memory_map
from accel.soc.run import program_image, ram_image, run_lenet
from accel.soc.sim import run_images
from accel.soc.top import DEFAULT_RAM_BYTES
from accel.spec import isa
from accel.spec.config import AccelConfig

CONFIG = AccelConfig()
#: Held-out images run in the default test (one simulator process); the benchmark runs all.
IMAGES = list(range(12))


@pytest.fixture(scope="module")
def model():
    return lenet.load_default()


@pytest.fixture(scope="module")
def elf(tmp_path_factory):
    return model_elf(tmp_path_factory.mktemp("fw"))


@pytest.fixture(scope="module")
def soc_results(model, elf):
    return run_lenet(model, IMAGES, CONFIG, elf)


def test_lenet_on_vexriscv_equals_the_golden_model(model, soc_results):
    for index, result in zip(IMAGES, soc_results, strict=True):
        golden = lenet.forward_int8(model.layers, model.test_images_int8[index : index + 1])[0]
        assert result.extra["exit_code"] == 0 and result.extra["status"] == 0, result.console
        np.testing.assert_array_equal(result.logits, golden)
        assert result.predicted == int(np.argmax(golden))
        assert f"class {result.predicted}\n" in result.console
        assert result.instructions > 1000 and result.extra["cpu_cycles"] > result.instructions


def test_iss_and_vexriscv_agree_on_outputs_and_accelerator_cycles(model, elf, soc_results):
    for index, soc in zip(IMAGES, soc_results, strict=True):
        iss = run_functional(model, index, CONFIG, elf)
        np.testing.assert_array_equal(soc.logits, iss.logits)
        assert soc.predicted == iss.predicted
        # the ISS's counters come from accel.perf; the SoC's are the RTL's own
        assert soc.layer_cycles == iss.layer_cycles
        assert soc.console == iss.console


def _selftest_runs(tmp_path):
    elf = firmware.build("selftest", tmp_path)
    iss = ISS()
    iss.load_elf(elf)
    iss.backend = FunctionalBackend(iss.memory, CONFIG)
    assert iss.run(max_instructions=10_000_000) == 0, iss.text_output[-500:]
    (soc,) = run_images(CONFIG, [ram_image(program_image(elf))])
    return iss, soc


def test_selftest_passes_on_vexriscv(tmp_path):
    """Every line of the self-test (M extension, compiler-rt, memory, printf, the driver and
    the accelerator) is the same on VexRiscv as on the ISS (whose output
    tests/firmware/test_build.py checks against independent goldens); the accelerator's
    counters of its layer equal accel.perf's prediction."""
    iss, soc = _selftest_runs(tmp_path)
    assert soc.exit_code == 0 and soc.trap is None, soc.console[-500:]
    assert soc.console == iss.text_output
    assert soc.console.endswith("selftest done, 0 failures\n")
    assert "probe 0 ok\n" in soc.console
    base = firmware.ARENA_BASE
    desc = {
        "N": 1, "H": 14, "W": 14, "C": 6, "M": 16, "R": 5, "S": 5, "E": 10, "F": 10, "U": 1,
        "P": 0, "IN_ADDR": base, "W_ADDR": base + 0x1000, "PARAM_ADDR": base + 0x2000,
        "OUT_ADDR": base + 0x3000, "IN_ZP": -128, "OUT_ZP": -5, "ACT_MIN": -5, "ACT_MAX": 127,
        "POOL": 1, "BAND": 10, "PL": 0, "IN_ROW_PITCH": 84, "OUT_ROW_PITCH": 80,
        "OUT_PIX_PITCH": 16, "ACC": 0,
    }  # fmt: skip
    desc = {reg.name: desc.get(reg.name, 0) for reg in isa.REGISTERS}
    c = perf.predict_descriptor(desc, CONFIG, perf.MemoryTiming()).counters()
    line = re.search(r"^layer 0 ok (.*)$", soc.console, re.M).group(1)
    assert line == (
        f"cycles={c['CYCLES']} mac={c['MAC_CYCLES']} rd={c['DMA_READ_BYTES']} "
        f"wr={c['DMA_WRITE_BYTES']} stall={c['STALL_CYCLES']}"
    )
    check = isa.DESCRIPTOR_CHECK["SHAPE"].code
    assert f"bad layer -2 invalid descriptor check={check}\n" in soc.console
    assert soc.instret > 100_000


def test_firmware_header_mirrors_the_memory_map():
    text = (firmware.FIRMWARE_DIR / "soc.h").read_text()
    defines = {
        name: int(value, 16)
        for name, value in re.findall(r"#define (SOC_\w+) (0x[0-9a-fA-F]+)", text)
    }
    assert defines["SOC_MMIO_BASE"] == memory_map.MMIO_BASE
    for name, offset in memory_map.MMIO_REGISTERS.items():
        assert defines[f"SOC_MMIO_{name}"] == offset
    assert defines["SOC_EXIT_TRAP"] == memory_map.EXIT_TRAP
    assert defines["SOC_CSR_CFU"] == memory_map.CSR_CFU
    assert defines["SOC_CFU_ENABLE"] == memory_map.CFU_ENABLE
    assert defines["SOC_DCACHE_FLUSH_WORD"] == memory_map.DCACHE_FLUSH_WORD


def test_exit_codes_and_trap_reports(elf):
    """model.c without a model image exits with 2 (printed on the MMIO console); an illegal
    instruction traps and start.S's handler reports mcause and mepc; a load from an unmapped
    address stops the run with the bus-error flag (VexRiscv ignores Wishbone ERR, so there is
    no access-fault trap to take)."""
    from accel.firmware.riscv import read_elf

    program = bytearray(program_image(elf))
    main = read_elf(elf).symbol("main")
    fault = [0x10000537, 0x00052503]  # lui a0, 0x10000; lw a0, 0(a0)
    for i, word in enumerate(fault):
        program[main + 4 * i : main + 4 * i + 4] = word.to_bytes(4, "little")
    illegal = bytearray(program_image(elf))
    illegal[main : main + 4] = bytes(4)  # the all-zero word is an illegal instruction
    no_model, faulting, trapping = run_images(
        CONFIG, [ram_image(program_image(elf)), ram_image(program), ram_image(illegal)]
    )
    assert no_model.exit_code == 2 and no_model.trap is None
    assert no_model.console.startswith("model: no model image at 0x10000")
    assert faulting.exit_code is None and faulting.trap is None
    assert faulting.bus_error == 0x1000_0000  # the cached load's line refill
    illegal_instruction = 2
    assert trapping.exit_code == memory_map.EXIT_TRAP | illegal_instruction
    assert trapping.trap[:2] == (illegal_instruction, main)


def test_sim_command_line_on_vexriscv(model, elf, capsys):
    from accel.sim.__main__ import main

    assert main(["firmware", "lenet", "--cpu", "vexriscv", "--image", "3"]) == 0
    out = capsys.readouterr().out
    golden = lenet.forward_int8(model.layers, model.test_images_int8[3:4])[0]
    assert "logits: " + " ".join(str(int(v)) for v in golden) + "\n" in out
    assert f"predicted class {int(np.argmax(golden))}\n" in out
    assert "golden logits match: yes" in out
    assert re.search(r"CPU cycles: \d+; instructions retired \(minstret\): \d+", out)
    assert re.search(r"the ISS \(functional accelerator\): \d+ instructions; .*: yes\n", out)
    expected = sum(run_functional(model, 3, CONFIG, elf).layer_cycles)  # accel.perf's
    assert re.search(rf"total\s+{expected}\n", out)
    assert main(["firmware", "lenet", "--cpu", "vexriscv", "--images", "2"]) == 0
    assert "logits identical to the golden model for 2/2" in capsys.readouterr().out


def _checksum(data: bytes) -> int:
    value = 0
    for byte in data:
        value = (value * 31 + byte) & 0xFFFF_FFFF
    return value


def test_the_data_cache_needs_the_flush_after_wait(tmp_path):
    """firmware/soc_coherence.c: the CPU caches the output region, the DMA overwrites it. Read
    without a flush, VexRiscv sees its stale lines; after the driver's WAIT (which flushes)
    it sees the RAM. The ISS (no cache) sees the RAM both times."""
    elf = firmware.build("soc_coherence", tmp_path)
    iss = ISS()
    iss.load_elf(elf)
    iss.backend = FunctionalBackend(iss.memory, CONFIG)
    assert iss.run(max_instructions=10_000_000) == 0, iss.text_output
    (soc,) = run_images(CONFIG, [ram_image(program_image(elf))])
    assert soc.exit_code == 0, soc.console
    out = soc.read(firmware.ARENA_BASE + 0x3000, 5 * 5 * 16)
    assert out == iss.memory.read(firmware.ARENA_BASE + 0x3000, len(out)) == bytes([0xFB]) * 400
    ram = f"{_checksum(out):x}"
    stale = f"{_checksum(bytes([0xA5]) * 400):x}"
    done = f"{1 << isa.STATUS_BIT['DONE'].bit:x}"
    assert iss.text_output.splitlines()[1:] == [f"raw {ram} status {done}", f"driver {ram} err 0"]
    assert soc.console.splitlines() == [
        f"before {stale}",
        f"raw {stale} status {done}",  # the stale cache lines
        f"driver {ram} err 0",
    ]


def test_an_imported_model_on_vexriscv(model, elf):
    """The exported LeNet-5 .tflite, imported (a graph image: fused conv+pool ops, FC as 1x1
    convolutions, RESHAPE as a buffer alias), under firmware on the SoC equals the graph's
    golden model and the same image on the ISS."""
    from accel.firmware.run import graph_image, run_image_functional
    from accel.model.export import lenet_tflite
    from accel.model.run import run_model
    from accel.model.tflite_import import load_tflite
    from accel.soc.run import run_model_images

    graph = load_tflite(lenet_tflite(model))
    x = model.test_images_int8[5:6]
    image = graph_image(graph, [x], CONFIG)
    (soc,) = run_model_images([image], CONFIG, elf)
    assert soc["exit_code"] == 0 and soc["status"] == 0, soc["console"]
    golden = run_model(graph, [x]).outputs
    np.testing.assert_array_equal(soc["outputs"][0].reshape(golden[0].shape), golden[0])
    iss = run_image_functional(graph_image(graph, [x], CONFIG), CONFIG, elf)
    assert soc["cycles"] == iss["cycles"]
    assert [op["where"] for op in soc["ops"]] == [op["where"] for op in iss["ops"]]


#: The synthesized SoC's RAM (``accel.build --soc --synth``): 128 KiB, two ports.
SYNTH_RAM = {"ram_bytes": 128 * 1024, "ram_ports": 2}


@pytest.mark.slow  # a second Verilator build of the SoC (a few minutes the first time)
def test_lenet_and_the_selftest_on_the_synthesized_soc_ram(model, tmp_path):
    """The synthesized SoC's RAM: 128 KiB (the firmware linked for it:
    ``MemoryLayout(128 KiB)``) with two ports (the DMA's read and write channels share one
    block-RAM port). LeNet-5 still equals the golden model and the ISS (with the same 128 KiB
    layout); the accelerator's cycles are at least accel.perf's (which models independent
    channels; a read beat that meets a write beat waits), and the self-test passes line for
    line except for its counters line."""
    layout = firmware.MemoryLayout(SYNTH_RAM["ram_bytes"])
    elf = model_elf(tmp_path / "model", layout=layout)
    assert read_elf(elf).symbol("__stack_top") == 0x20000
    indices = [0, 1, 2]
    socs = run_lenet(model, indices, CONFIG, elf, **SYNTH_RAM)
    for index, soc in zip(indices, socs, strict=True):
        golden = lenet.forward_int8(model.layers, model.test_images_int8[index : index + 1])[0]
        assert soc.extra["exit_code"] == 0 and soc.extra["status"] == 0, soc.console
        np.testing.assert_array_equal(soc.logits, golden)
        iss = run_functional(model, index, CONFIG, elf, layout)
        np.testing.assert_array_equal(iss.logits, golden)
        assert all(s >= i for s, i in zip(soc.layer_cycles, iss.layer_cycles, strict=True))
    selftest = firmware.build("selftest", tmp_path, layout=layout)
    iss = ISS(SYNTH_RAM["ram_bytes"])
    iss.load_elf(selftest)
    iss.backend = FunctionalBackend(iss.memory, CONFIG)
    assert iss.run(max_instructions=10_000_000) == 0
    image = ram_image(program_image(selftest), ram_bytes=SYNTH_RAM["ram_bytes"])
    (soc,) = run_images(CONFIG, [image], **SYNTH_RAM)
    assert soc.exit_code == 0 and soc.trap is None, soc.console[-500:]

    def without_counters(text):
        return re.sub(r"^layer 0 ok .*$", "layer 0 ok", text, flags=re.M)

    assert without_counters(soc.console) == without_counters(iss.text_output)
    assert soc.console.endswith("selftest done, 0 failures\n")


def test_firmware_linked_for_more_ram_than_the_soc_has_is_refused(model, elf):
    """The 256 KiB firmware on a 128 KiB SoC would put its stack outside the RAM: refused
    before any simulation, naming both sizes."""
    with pytest.raises(ValueError, match="linked for 262144 bytes of RAM, the SoC has 131072"):
        run_lenet(model, [0], CONFIG, elf, **SYNTH_RAM)


@pytest.mark.slow  # the 2-port SoC model (built once, shared with the test above)
def test_two_port_sim_command_line(model, capsys):
    """``accel.sim firmware --ram-ports 2 --ram-kib 128`` (the model of the slow test above,
    cached) reports the RAM and both cycle counts; ``--ram-ports`` or ``--ram-kib`` without
    ``--cpu vexriscv`` is an error."""
    from accel.sim.__main__ import main

    for option in (["--ram-ports", "2"], ["--ram-kib", "128"]):
        assert main(["firmware", "lenet", *option, "--backend", "functional"]) == 2
        assert "--ram-ports and --ram-kib need --cpu vexriscv" in capsys.readouterr().err
    args = ["firmware", "lenet", "--cpu", "vexriscv", "--ram-ports", "2", "--ram-kib", "128"]
    assert main([*args, "--image", "4"]) == 0
    out = capsys.readouterr().out
    assert "(Verilator, 128 KiB 2-port RAM)" in out and "golden logits match: yes" in out
    assert re.search(r"accelerator cycles \d+ on the ISS \(accel\.perf\), \d+ with the 2-port", out)


def test_stopped_clocks_change_nothing(model, elf, tmp_path):
    """The harness stops the accelerator's clock while it idles and the core's while it waits
    for the accelerator (accel/soc/harness.cpp). LeNet-5 and the self-test must run exactly as
    on the ungated SoC: the same cycles from reset to exit, instructions retired, console and
    every byte of RAM at exit (which holds each layer's output and accelerator counters)."""
    layout = firmware.MemoryLayout(DEFAULT_RAM_BYTES)
    program = program_image(elf)
    images = [
        ram_image(program, chain_image(model.layers, model.test_images_int8[i : i + 1],
                                       CONFIG, layout).regions)
        for i in (0, 1)
    ]  # fmt: skip
    images.append(ram_image(program_image(firmware.build("selftest", tmp_path))))
    gated = run_images(CONFIG, images)
    ungated = run_images(CONFIG, images, gated=False)
    for stopped, free in zip(gated, ungated, strict=True):
        assert stopped.exit_code == 0 and free.exit_code == 0, stopped.console[-300:]
        for field in ("cycles", "instret", "trap", "bus_error", "console", "ram"):
            assert getattr(stopped, field) == getattr(free, field), field
        assert free.accel_clocks == free.cpu_clocks == free.cycles
        # the gates did stop the clocks: the CPU waits through most of LeNet's layers
        assert stopped.accel_clocks < free.cycles and stopped.cpu_clocks < free.cycles
    assert gated[0].cpu_clocks < 0.6 * gated[0].cycles
