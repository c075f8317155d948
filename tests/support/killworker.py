"""Child process for the SIGKILL test: applies one update to a store, saying when it starts."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from terminal.lists.revocation import RevocationStore


def main(db: str, kind: str, payload: str) -> None:
    work = Path(payload)
    store = RevocationStore(db)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    if kind == "snap":
        store.apply_snapshot(2, 1_700_000_100, 1_800_000_000, (work / "snap.bin").read_bytes())
    else:
        count = int((work / "count.txt").read_text())
        store.apply_delta(1, 2, 1_700_000_100, 1_800_000_000, (work / "add.bin").read_bytes(),
                          (work / "rem.bin").read_bytes(), count)
    sys.stdout.write("applied\n")
    sys.stdout.flush()
    store.checkpoint()
    sys.stdout.write("done\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(*sys.argv[1:4])
