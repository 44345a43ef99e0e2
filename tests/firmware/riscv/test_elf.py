"""The ELF32 reader and the ISS loader, on ELF files assembled by hand here."""

import struct

import pytest

from accel.firmware.riscv import ISS, ElfError, ISSError, Memory, parse_elf, read_elf

PF_X, PF_W, PF_R = 1, 2, 4


def make_elf(
    segments,
    entry,
    symbols=(),
    *,
    ei_class=1,
    ei_data=1,
    machine=243,
    e_type=2,
    flags=0,
    extra_phdrs=(),
):
    """An ELF32 LE file: ``segments`` = [(paddr, data, memsz, flags)], ``symbols`` =
    [(name, value, size, type)], in a symbol table with its string table."""
    phdrs = [(1, paddr, data, memsz, pflags) for paddr, data, memsz, pflags in segments]
    phdrs += list(extra_phdrs)
    phoff = 52
    offset = phoff + 32 * len(phdrs)
    body = b""
    ph_bytes = b""
    for p_type, paddr, data, memsz, pflags in phdrs:
        ph_bytes += struct.pack(
            "<IIIIIIII", p_type, offset + len(body), paddr, paddr, len(data), memsz, pflags, 4
        )
        body += data
    strtab = b"\0"
    symtab = bytes(16)  # the null symbol
    for name, value, size, kind in symbols:
        symtab += struct.pack("<IIIBBH", len(strtab), value, size, (1 << 4) | kind, 0, 0xFFF1)
        strtab += name.encode() + b"\0"
    strtab_off = offset + len(body)
    body += strtab
    while (offset + len(body)) % 4:
        body += b"\0"
    symtab_off = offset + len(body)
    body += symtab
    shoff = offset + len(body)
    shdrs = bytes(40)  # null section
    shdrs += struct.pack("<IIIIIIIIII", 0, 3, 0, 0, strtab_off, len(strtab), 0, 0, 1, 0)
    shdrs += struct.pack("<IIIIIIIIII", 0, 2, 0, 0, symtab_off, len(symtab), 1, 1, 4, 16)
    ident = b"\x7fELF" + bytes([ei_class, ei_data, 1]) + bytes(9)
    ehdr = struct.pack(
        "<16sHHIIIIIHHHHHH",
        ident,
        e_type,
        machine,
        1,
        entry,
        phoff,
        shoff,
        flags,
        52,
        32,
        len(phdrs),
        40,
        3,
        0,
    )
    return ehdr + ph_bytes + body + shdrs


def words(*ws):
    return b"".join(w.to_bytes(4, "little") for w in ws)


# li a0, 42 ; lw a1, 0(zero+0x200) ; li a7, 93 ; ecall
CODE = words(0x02A00513, 0x20002583, 0x05D00893, 0x00000073)


def sample_elf():
    return make_elf(
        [
            (0x100, CODE, len(CODE), PF_R | PF_X),
            (0x200, words(0x11223344, 0x55667788), 32, PF_R | PF_W),  # 24 bytes of .bss
        ],
        entry=0x100,
        symbols=[("main", 0x100, 16, 2), ("table", 0x200, 32, 1)],
    )


def test_parse_segments_entry_and_symbols():
    elf = parse_elf(sample_elf())
    assert elf.entry == 0x100
    assert [(s.address, len(s.data), s.memsize, s.flags) for s in elf.segments] == [
        (0x100, 16, 16, PF_R | PF_X),
        (0x200, 8, 32, PF_R | PF_W),
    ]
    assert elf.segments[0].data == CODE
    assert elf.symbol("table") == 0x200
    assert (elf.symbols["main"].size, elf.symbols["main"].kind) == (16, "func")
    with pytest.raises(KeyError, match="'logits' is not defined"):
        elf.symbol("logits")


def test_load_zeroes_bss_and_runs_from_entry():
    iss = ISS(Memory(0x400))
    iss.memory.write(0, b"\xee" * 0x400)  # garbage everywhere
    iss.load_elf(sample_elf())
    assert iss.pc == 0x100
    assert iss.memory.read(0x208, 24) == bytes(24)
    assert iss.memory.read(0x220, 4) == b"\xee" * 4  # beyond the segment: untouched
    assert iss.run() == 42
    assert iss.reg(11) == 0x11223344


def test_read_elf_from_path(tmp_path):
    path = tmp_path / "prog.elf"
    path.write_bytes(sample_elf())
    assert read_elf(path).entry == 0x100
    iss = ISS(0x400)
    iss.load_elf(path)
    assert iss.run() == 42
    path.write_bytes(b"#!/bin/sh\n")
    with pytest.raises(ElfError, match=r"prog\.elf: not an ELF file"):
        read_elf(path)


@pytest.mark.parametrize(
    "data,message",
    [
        (b"", "not an ELF file"),
        (b"MZ\x90\x00" + bytes(60), "not an ELF file"),
        (b"\x7fELF\x01\x01\x01" + bytes(20), "truncated ELF header"),
        (make_elf([(0, CODE, 16, 5)], 0, ei_class=2), "ELF64 file; expected ELF32"),
        (make_elf([(0, CODE, 16, 5)], 0, ei_data=2), "big-endian"),
        (make_elf([(0, CODE, 16, 5)], 0, machine=62), r"machine 62 \(x86-64\); expected RISC-V"),
        (make_elf([(0, CODE, 16, 5)], 0, machine=40), r"machine 40 \(ARM\)"),
        (make_elf([(0, CODE, 16, 5)], 0, e_type=1), r"type 1 \(relocatable object\)"),
        (make_elf([(0, CODE, 16, 5)], 0, flags=0x1), "compressed instructions"),
        (make_elf([(0, CODE, 16, 5)], 0, flags=0x4), "hard-float"),
        (make_elf([(0, CODE, 8, 5)], 0), "p_filesz 16 > p_memsz 8"),
        (make_elf([], 0), "no loadable"),
        (make_elf([], 0, extra_phdrs=[(4, 0, b"x", 1, 4)]), "no loadable"),
    ],
)
def test_parse_errors(data, message):
    with pytest.raises(ElfError, match=message):
        parse_elf(data)


def test_segment_beyond_end_of_file():
    data = bytearray(make_elf([(0, CODE, 16, 5)], 0))
    struct.pack_into("<I", data, 52 + 16, 0x10000)  # p_filesz of the first program header
    struct.pack_into("<I", data, 52 + 20, 0x10000)  # p_memsz
    with pytest.raises(ElfError, match="segment 0 .* beyond the end of the file"):
        parse_elf(bytes(data))


def test_segment_must_fit_memory():
    iss = ISS(Memory(0x200))
    with pytest.raises(ISSError, match=r"segment 0x00000200\.\.0x00000220 does not fit"):
        iss.load_elf(sample_elf())
    iss = ISS(Memory(0x400, base=0x1000))
    with pytest.raises(ISSError, match="does not fit memory 0x00001000"):
        iss.load_elf(sample_elf())
