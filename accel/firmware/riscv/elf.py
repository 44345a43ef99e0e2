"""A small reader for ELF32 little-endian RISC-V executables.

Only what a bare-metal loader needs: the entry point, the ``PT_LOAD`` segments (loaded at
their physical address, zero-filled from ``p_filesz`` to ``p_memsz``) and the symbol table
(so that a host can find e.g. the address of a result array in the firmware).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

EM_RISCV = 243
ET_EXEC = 2
PT_LOAD = 1
SHT_SYMTAB = 2
EF_RISCV_RVC = 0x1
EF_RISCV_FLOAT_ABI = 0x6
EF_RISCV_RVE = 0x8

_MACHINES = {3: "x86", 8: "MIPS", 40: "ARM", 62: "x86-64", 183: "AArch64", 243: "RISC-V"}
_TYPES = {0: "none", 1: "relocatable object", 2: "executable", 3: "shared object", 4: "core"}
_SYMBOL_KINDS = {0: "notype", 1: "object", 2: "func", 3: "section", 4: "file"}

_EHDR = struct.Struct("<16sHHIIIIIHHHHHH")
_PHDR = struct.Struct("<IIIIIIII")
_SHDR = struct.Struct("<IIIIIIIIII")
_SYM = struct.Struct("<IIIBBH")


class ElfError(ValueError):
    """The file is not an ELF32 little-endian RISC-V executable, or it is malformed."""


@dataclass(frozen=True)
class Segment:
    """One ``PT_LOAD`` segment: ``data`` goes to ``address``; the rest up to ``memsize``
    bytes is zero (``.bss``). ``flags`` are the ELF ``PF_R``/``PF_W``/``PF_X`` bits."""

    address: int
    data: bytes
    memsize: int
    flags: int


@dataclass(frozen=True)
class Symbol:
    """One defined symbol: ``value`` (its address), ``size`` in bytes, ``kind``
    (``"func"``, ``"object"``, ``"notype"``, ...)."""

    name: str
    value: int
    size: int
    kind: str


@dataclass(frozen=True)
class ElfFile:
    """A parsed executable: ``entry`` point, loadable ``segments``, defined ``symbols``."""

    entry: int
    segments: tuple[Segment, ...]
    symbols: dict[str, Symbol]
    flags: int

    def symbol(self, name: str) -> int:
        """The address of symbol ``name``; ``KeyError`` naming it if it is not defined."""
        try:
            return self.symbols[name].value
        except KeyError:
            raise KeyError(f"symbol {name!r} is not defined in the ELF file") from None


def parse_elf(data: bytes, source: str = "<bytes>") -> ElfFile:
    """Parse an ELF32 little-endian RISC-V executable from ``data``.

    Raises :class:`ElfError` naming ``source`` for anything else: not an ELF file, ELF64,
    big-endian, another machine, not an executable, compressed (RVC) or hard-float code,
    or headers/segments that point outside the file.
    """
    data = bytes(data)
    if len(data) < 4 or data[:4] != b"\x7fELF":
        raise ElfError(f"{source}: not an ELF file (starts with {data[:4]!r})")
    if len(data) < _EHDR.size:
        raise ElfError(f"{source}: truncated ELF header ({len(data)} bytes)")
    ident = data[:16]
    if ident[4] != 1:
        kind = {2: "ELF64"}.get(ident[4], f"class {ident[4]}")
        raise ElfError(f"{source}: {kind} file; expected ELF32 (RV32)")
    if ident[5] != 1:
        kind = {2: "big-endian"}.get(ident[5], f"data encoding {ident[5]}")
        raise ElfError(f"{source}: {kind} file; expected little-endian")
    (
        _,
        e_type,
        e_machine,
        _,
        e_entry,
        e_phoff,
        e_shoff,
        e_flags,
        _,
        e_phentsize,
        e_phnum,
        e_shentsize,
        e_shnum,
        _,
    ) = _EHDR.unpack_from(data, 0)
    if e_machine != EM_RISCV:
        name = _MACHINES.get(e_machine, "unknown")
        raise ElfError(f"{source}: machine {e_machine} ({name}); expected RISC-V ({EM_RISCV})")
    if e_type != ET_EXEC:
        name = _TYPES.get(e_type, "unknown")
        raise ElfError(f"{source}: ELF type {e_type} ({name}); expected an executable")
    if e_flags & EF_RISCV_RVC:
        raise ElfError(
            f"{source}: compiled with compressed instructions (RVC); the ISS implements RV32IM"
        )
    if e_flags & (EF_RISCV_FLOAT_ABI | EF_RISCV_RVE):
        raise ElfError(
            f"{source}: hard-float or RV32E ABI (e_flags 0x{e_flags:x}); expected ilp32 RV32IM"
        )

    def check_range(what: str, offset: int, size: int) -> None:
        if offset + size > len(data):
            raise ElfError(
                f"{source}: {what} at file offset {offset} + {size} bytes is beyond the end "
                f"of the file ({len(data)} bytes)"
            )

    segments = []
    if e_phnum:
        if e_phentsize < _PHDR.size:
            raise ElfError(f"{source}: program header entry size {e_phentsize} too small")
        check_range("program header table", e_phoff, e_phnum * e_phentsize)
    for i in range(e_phnum):
        p_type, p_offset, _, p_paddr, p_filesz, p_memsz, p_flags, _ = _PHDR.unpack_from(
            data, e_phoff + i * e_phentsize
        )
        if p_type != PT_LOAD or p_memsz == 0:
            continue
        if p_filesz > p_memsz:
            raise ElfError(f"{source}: segment {i} has p_filesz {p_filesz} > p_memsz {p_memsz}")
        check_range(f"segment {i}", p_offset, p_filesz)
        segments.append(Segment(p_paddr, data[p_offset : p_offset + p_filesz], p_memsz, p_flags))
    if not segments:
        raise ElfError(f"{source}: no loadable (PT_LOAD) segment")

    symbols = _read_symbols(data, source, e_shoff, e_shnum, e_shentsize, check_range)
    return ElfFile(e_entry, tuple(segments), symbols, e_flags)


def _read_symbols(data, source, e_shoff, e_shnum, e_shentsize, check_range) -> dict[str, Symbol]:
    if not e_shnum or not e_shoff:
        return {}
    if e_shentsize < _SHDR.size:
        raise ElfError(f"{source}: section header entry size {e_shentsize} too small")
    check_range("section header table", e_shoff, e_shnum * e_shentsize)
    sections = [_SHDR.unpack_from(data, e_shoff + i * e_shentsize) for i in range(e_shnum)]
    symbols: dict[str, Symbol] = {}
    for _, sh_type, _, _, sh_offset, sh_size, sh_link, _, _, sh_entsize in sections:
        if sh_type != SHT_SYMTAB:
            continue
        if sh_link >= len(sections):
            raise ElfError(f"{source}: symbol table links to missing section {sh_link}")
        str_offset, str_size = sections[sh_link][4], sections[sh_link][5]
        check_range("symbol table", sh_offset, sh_size)
        check_range("string table", str_offset, str_size)
        strtab = data[str_offset : str_offset + str_size]
        entsize = sh_entsize or _SYM.size
        for offset in range(sh_offset, sh_offset + sh_size - _SYM.size + 1, entsize):
            st_name, st_value, st_size, st_info, _, st_shndx = _SYM.unpack_from(data, offset)
            if st_name == 0 or st_shndx == 0 or st_name >= len(strtab):
                continue
            end = strtab.find(b"\0", st_name)
            name = strtab[st_name : end if end >= 0 else len(strtab)].decode("utf-8", "replace")
            kind = _SYMBOL_KINDS.get(st_info & 0xF, f"type{st_info & 0xF}")
            if kind in ("section", "file") or name.startswith((".L", "$")):
                continue
            binding = st_info >> 4
            # Global symbols win over local ones of the same name.
            if name not in symbols or binding != 0:
                symbols[name] = Symbol(name, st_value, st_size, kind)
    return symbols


def read_elf(path: str | Path) -> ElfFile:
    """Read and parse the ELF executable at ``path`` (see :func:`parse_elf`)."""
    path = Path(path)
    return parse_elf(path.read_bytes(), source=str(path))
