"""Running the terminal as a program (``python -m terminal``) from tests: where the repository
is, and the environment a child process needs to import it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HW_SIM = REPO / "hw-sim"


def python_env(base: Mapping[str, str] | None = None, *, hw_sim: bool = True,
               **extra: str) -> dict[str, str]:
    """``base`` (default: this process's environment) with PYTHONPATH set to the repository (and
    hw-sim), plus ``extra`` variables: what a child needs to run ``python -m terminal``."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([str(HW_SIM)] if hw_sim else []))
    env.update(extra)
    return env
