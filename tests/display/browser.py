"""Debian's Chromium under Selenium, headless, for the display's browser tests and benchmark.

As root Chromium needs ``--no-sandbox``; the background-networking flags stop it from reaching
for Google's hosts, which this machine's closed network refuses. Selenium is pointed at
``/usr/bin/chromedriver`` so its own driver manager never tries to download anything.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("SCANPOINT_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SCANPOINT_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions",
         "--disable-default-apps", "--hide-scrollbars=false", "--force-device-scale-factor=1",
         "--lang=zh-CN"]


def missing() -> str | None:
    """Why no browser test can run here (None when Chromium, its driver and Selenium are there)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).exists() or shutil.which(path)):
            return f"{path} not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium not installed (pip install -e '.[test]')"
    return None


class Browser:
    """One headless Chromium with its own empty profile; ``close()`` removes it."""

    def __init__(self, width: int = 800, height: int = 480) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="scanpoint-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        self.driver: Any = webdriver.Chrome(options=options,
                                            service=Service(executable_path=CHROMEDRIVER))
        self.resize(width, height)

    def resize(self, width: int, height: int) -> None:
        """Make the viewport exactly ``width`` x ``height`` CSS pixels."""
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def wait(self, predicate: Any, timeout: float = 10.0) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout, poll_frequency=0.02).until(predicate)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def close(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)
