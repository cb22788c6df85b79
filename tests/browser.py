"""Headless Chromium for the HTML page's tests and the README's screenshots (Debian's
``chromium`` and ``chromium-driver`` packages, driven by selenium)."""
import os
import shutil
from collections import OrderedDict
from typing import Any, Optional

from flowflops import Report
from flowflops.records import ModuleInfo


def missing() -> Optional[str]:
    """Why the browser cannot run here (``None`` when it can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for exe, pkg in (("chromium", "chromium"), ("chromedriver", "chromium-driver")):
        if not shutil.which(exe):
            return f"no {exe} on PATH (apt-get install {pkg})"
    return None


def driver(width: int = 1300, height: int = 1000) -> Any:
    """A headless Chromium that reaches nothing outside this machine."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"):
        opts.add_argument(arg)
    opts.binary_location = shutil.which("chromium")
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


def open_page(drv: Any, path: str, timeout: float = 60.0) -> float:
    """Load ``path`` and wait until the page has drawn itself; returns the load time in ms
    (navigation start to the end of the page's own drawing, as the browser clocks it)."""
    from selenium.webdriver.support.ui import WebDriverWait

    drv.get("file://" + os.path.abspath(path))
    ready = "return document.body && document.body.getAttribute('data-ff-ready')"
    WebDriverWait(drv, timeout).until(lambda d: d.execute_script(ready))
    return float(drv.execute_script("return Number(document.body.getAttribute('data-ff-ready-ms'))"))


def replicated(report: Report, copies: int) -> Report:
    """A report of a model made of ``copies`` copies of ``report``'s model side by side
    (``copy0.layer1...``): every record and module repeated, for a page of any size."""
    from dataclasses import replace

    modules: "OrderedDict[str, ModuleInfo]" = OrderedDict()
    root = report.modules[""]
    modules[""] = ModuleInfo("Copies", "", root.params * copies, root.trainable_params * copies,
                             [(f"copy{i}", f"copy{i}") for i in range(copies)])
    entries = []
    for i in range(copies):
        pre = f"copy{i}"
        for path, info in report.modules.items():
            modules[f"{pre}.{path}" if path else pre] = ModuleInfo(
                info.type_name, info.extra_repr, info.params, info.trainable_params,
                [(n, f"{pre}.{c}") for n, c in info.children])
        entries += [(replace(rec, module=f"{pre}.{rec.module}" if rec.module else pre), c) for rec, c in report.entries]
    return Report(entries, modules, mode=report.mode, inputs=report.inputs)
