"""Power-cut simulation for SQLite, the way SQLite's own crash tests do it (test6.c "crash" VFS).

An APSW VFS keeps every file in memory as two images: what the process sees (``current``) and what
has reached the platter (``durable``). Writes and truncates go to ``current`` and are queued; an
``xSync`` makes everything queued for that file durable. At the cut, each file keeps its durable
image plus a random subset of its queued operations, applied in a random order, some writes torn
(only some of their 512-byte sectors land). The result is written to real files and opened with the
ordinary driver to see what a terminal would find after the power came back.

WAL needs shared memory, which APSW's Python VFS cannot provide, so the connection runs with
``locking_mode=EXCLUSIVE`` (WAL index in heap memory); the on-disk WAL format and its recovery are
the same. The shim is a test tool: it lives with the tests and the benchmarks import it.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path

import apsw

SECTOR = 512
SQLITE_IOCAP_POWERSAFE_OVERWRITE = 0x1000
_ids = itertools.count()


class PowerCut(Exception):
    """Raised from inside the VFS at the chosen operation: the power is gone."""


@dataclass
class MemImage:
    durable: bytearray = field(default_factory=bytearray)
    current: bytearray = field(default_factory=bytearray)
    pending: list = field(default_factory=list)   # ("w", offset, bytes) | ("t", size)


def _write(buf: bytearray, offset: int, data: bytes) -> None:
    end = offset + len(data)
    if len(buf) < end:
        buf.extend(b"\0" * (end - len(buf)))
    buf[offset:end] = data


class Disk:
    """The simulated storage: named in-memory files, an operation counter and a cut point."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files: dict[str, MemImage] = {}
        for name, data in (files or {}).items():
            self.files[name] = MemImage(bytearray(data), bytearray(data), [])
        self.ops = 0
        self.cut_at: int | None = None
        self.dead = False

    def tick(self) -> None:
        """Count one write/sync/truncate; cut the power when the chosen operation comes."""
        if self.dead:
            raise PowerCut("power is off")
        self.ops += 1
        if self.cut_at is not None and self.ops >= self.cut_at:
            self.dead = True
            raise PowerCut(f"power cut at operation {self.ops}")

    def after_cut(self, rng: random.Random, *, keep: float | None = None,
                  tear: float = 0.3) -> dict[str, bytes]:
        """The files as found after the cut: durable data plus a random, reordered, torn subset."""
        out = {}
        for name, img in self.files.items():
            disk = bytearray(img.durable)
            p = rng.random() if keep is None else keep
            ops = [op for op in img.pending if rng.random() < p]
            rng.shuffle(ops)
            for op in ops:
                if op[0] == "t":
                    del disk[op[1]:]
                    continue
                _, offset, data = op
                if len(data) > SECTOR and rng.random() < tear:
                    # torn: each sector of this write independently did or did not land
                    first = offset - offset % SECTOR
                    for s in range(first, offset + len(data), SECTOR):
                        if rng.random() < 0.5:
                            lo, hi = max(s, offset), min(s + SECTOR, offset + len(data))
                            _write(disk, lo, data[lo - offset:hi - offset])
                else:
                    _write(disk, offset, data)
            out[name] = bytes(disk)
        return out

    def snapshot(self) -> dict[str, bytes]:
        """Current (fully synced or not) contents, for building a base image."""
        return {n: bytes(i.current) for n, i in self.files.items()}


class MemFile:
    """One open file of :class:`CutVFS` (implements the VFSFile methods APSW calls)."""

    def __init__(self, disk: Disk, name: str) -> None:
        self.disk = disk
        self.name = name
        self.img = disk.files.setdefault(name, MemImage())

    def xRead(self, amount: int, offset: int) -> bytes:
        if self.disk.dead:
            raise PowerCut("power is off")
        return bytes(self.img.current[offset:offset + amount])   # short read: APSW zero-fills

    def xWrite(self, data: bytes, offset: int) -> None:
        self.disk.tick()
        data = bytes(data)
        _write(self.img.current, offset, data)
        self.img.pending.append(("w", offset, data))

    def xTruncate(self, size: int) -> None:
        self.disk.tick()
        del self.img.current[size:]
        self.img.pending.append(("t", size))

    def xSync(self, flags: int) -> None:
        self.disk.tick()
        self.img.durable = bytearray(self.img.current)
        self.img.pending.clear()

    def xFileSize(self) -> int:
        return len(self.img.current)

    def xLock(self, level: int) -> None:
        pass

    def xUnlock(self, level: int) -> None:
        pass

    def xCheckReservedLock(self) -> bool:
        return False

    def xFileControl(self, op: int, ptr: int) -> bool:
        return False

    def xSectorSize(self) -> int:
        return SECTOR

    def xDeviceCharacteristics(self) -> int:
        return SQLITE_IOCAP_POWERSAFE_OVERWRITE

    def xClose(self) -> None:
        pass


class CutVFS(apsw.VFS):
    """A VFS over a :class:`Disk`; register once per disk, with a unique name."""

    def __init__(self, disk: Disk, name: str | None = None) -> None:
        self.disk = disk
        self.vfsname = name or f"powercut{next(_ids)}"
        super().__init__(self.vfsname, base="")

    def xOpen(self, name, flags):
        fname = name.filename() if isinstance(name, apsw.URIFilename) else name
        if fname is None:
            fname = f"/tmp-{next(_ids)}"
        return MemFile(self.disk, fname)

    def xDelete(self, name: str, syncdir: bool) -> None:
        self.disk.tick()
        self.disk.files.pop(name, None)

    def xAccess(self, name: str, flags: int) -> bool:
        return name in self.disk.files if flags == apsw.mapping_access["SQLITE_ACCESS_EXISTS"] else True

    def xFullPathname(self, name: str) -> str:
        return name if name.startswith("/") else "/" + name


def materialize(files: dict[str, bytes], directory: Path, db_name: str) -> Path:
    """Write the after-cut images under ``directory`` with their SQLite names; returns the db path."""
    directory.mkdir(parents=True, exist_ok=True)
    base = db_name.lstrip("/")
    for name, data in files.items():
        (directory / name.lstrip("/")).write_bytes(data)
    return directory / base
