"""Terminal configurations for tests: TOML text with a ``[terminal]`` table, loaded or written,
and whole demo terminals (an issuer, its published lists synced into the terminal's store)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from terminal import config as config_mod


def config_text(state_dir: str | Path, extra: str = "", **terminal: str) -> str:
    """``[terminal]`` with ``state_dir`` and any other keys given (strings), then ``extra``."""
    lines = ["[terminal]", f'state_dir = "{Path(state_dir).as_posix()}"']
    lines += [f'{key} = "{value}"' for key, value in terminal.items()]
    return "\n".join(lines) + "\n" + extra


def load_config(state_dir: str | Path, extra: str = "", **terminal: str) -> config_mod.Config:
    """The checked :class:`~terminal.config.Config` of :func:`config_text` (no file written)."""
    return config_mod.loads(config_text(state_dir, extra, **terminal))


def write_config(folder: Path, extra: str = "", *, name: str = "scanpoint.toml",
                 state_dir: str = "state", **terminal: str) -> Path:
    """Write :func:`config_text` to ``folder/name`` (``state_dir`` relative to it by default)."""
    path = folder / name
    path.write_text(config_text(state_dir, extra, **terminal), encoding="utf-8")
    return path


def demo_terminal(work: Path, site: str = "checkpoint", extra: str = "", *,
                  printer_url: str | None = None) -> tuple[config_mod.Config, Any]:
    """An issuer made an hour ago in ``work/issuer`` and the demo terminal trusting it, its lists
    published and synced (as ``scanpoint demo`` sets up). ``printer_url`` replaces the pharmacy's
    simulated printer with a real port (a virtual printer's pty, or an absent device).

    Returns the loaded config and the issuer (``terminal.issuer.directory.IssuerDir``).
    """
    from terminal.cli import demo
    from terminal.issuer import directory as issuer

    home = issuer.init(work / "issuer", site=site, now=int(time.time()) - 3600)
    config = demo.terminal_for(work, home, site, extra)
    if printer_url is not None:
        path = Path(config.source)
        text = path.read_text(encoding="utf-8")
        assert 'url = "sim"' in text, "only the pharmacy demo config has a printer to replace"
        path.write_text(text.replace('url = "sim"', f'url = "{printer_url}"\nreply_timeout_s = 0.5'),
                        encoding="utf-8")
        config = config_mod.load(path)
    return config, home
