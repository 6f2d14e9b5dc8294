"""Pages opened in headless Chromium, driven over the DevTools protocol, and what a
reader would meet there: console errors, images that do not decode, links and
sources that lead nowhere, requests that would leave the machine.

Nothing is downloaded: Debian's ``chromium`` (``apt-get install -y chromium``) is
started as a plain subprocess, and ``websocket-client`` (installed with Jupyter)
speaks the protocol. Host names resolve nowhere, so a page that needs the network
fails here as it would on a learner's offline laptop.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHROMIUM = "/usr/bin/chromium"
INSTALL = "apt-get install -y chromium"

# Evaluated in the page once it has loaded: every image decoded (or not), every
# href and src as written, every id an anchor can point at, and the print rules.
_INSPECT = """
(async () => {
  const images = await Promise.all([...document.images].map(async (img) => {
    let decoded = true;
    try { await img.decode(); } catch (e) { decoded = false; }
    return {src: (img.getAttribute('src') || '').slice(0, 60), width: img.naturalWidth, decoded};
  }));
  const attr = (name) => [...document.querySelectorAll('[' + name + ']')].map((e) => e.getAttribute(name));
  const ids = [...document.querySelectorAll('[id]')].map((e) => e.id)
    .concat([...document.querySelectorAll('a[name]')].map((e) => e.getAttribute('name')));
  const code = [...document.querySelectorAll('.jp-OutputArea-output .highlight pre')].map((p) => {
    const style = getComputedStyle(p);
    return {white_space: style.whiteSpace, font: style.fontFamily};
  });
  return JSON.stringify({title: document.title, images, hrefs: attr('href'), srcs: attr('src'), ids, code});
})()
"""

_PRINT = """
(() => {
  const shown = (e) => e.getClientRects().length > 0;
  const nav = [...document.querySelectorAll('.celltag_navigation')];
  const pre = document.querySelector('pre');
  const out = document.querySelector('.jp-OutputArea-output');
  return JSON.stringify({
    navigation: nav.length, navigation_shown: nav.filter(shown).length,
    pre_white_space: pre ? getComputedStyle(pre).whiteSpace : null,
    output_break_inside: out ? getComputedStyle(out).breakInside : null,
  });
})()
"""


def chromium() -> str | None:
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


@dataclass
class Page:
    """What one page showed: its problems (empty when all is well) and what it holds."""

    path: Path
    title: str = ""
    problems: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    print_rules: dict = field(default_factory=dict)


class Browser:
    """One headless Chromium for a test; ``with Browser(tmp) as b: b.open(path)``."""

    def __init__(self, workdir: Path, width: int = 1280, height: int = 2000, timeout: float = 30):
        self.workdir, self.size, self.timeout = Path(workdir), (width, height), timeout
        self.proc = None
        self.ws = None
        self._id = 0
        self._events: list[dict] = []

    # -- the browser process and its websocket -------------------------------------------
    def __enter__(self):
        import websocket

        exe = chromium()
        if exe is None:
            raise RuntimeError(f"Chromium is not installed: {INSTALL}")
        profile = self.workdir / "chromium-profile"
        profile.mkdir(parents=True, exist_ok=True)
        (profile / "DevToolsActivePort").unlink(missing_ok=True)  # a previous browser's port
        self.log = self.workdir / "chromium.log"
        args = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--mute-audio", f"--user-data-dir={profile}",
                f"--window-size={self.size[0]},{self.size[1]}", "--host-resolver-rules=MAP * ~NOTFOUND",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"]
        with open(self.log, "wb") as log:
            # a process group of its own, so closing ends the renderer and helpers too
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        try:
            port = self._port(profile / "DevToolsActivePort")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as resp:
                targets = json.load(resp)
            page = next(t for t in targets if t.get("type") == "page")
            self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=self.timeout,
                                                  suppress_origin=True)
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=self.size[0], height=self.size[1],
                      deviceScaleFactor=1, mobile=False)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _port(self, active: Path) -> int:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Chromium exited with {self.proc.returncode}: {self._log_tail()}")
            if active.exists():
                first = active.read_text().splitlines()[:1]
                if first and first[0].isdigit():
                    return int(first[0])
            time.sleep(0.05)
        raise RuntimeError(f"Chromium did not open its DevTools port in {self.timeout:.0f} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-600:].strip() if self.log.exists() else ""

    def __exit__(self, *exc):
        if self.ws is not None:
            self.ws.close()
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=5)

    # -- the protocol ----------------------------------------------------------------------
    def call(self, method: str, **params) -> dict:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self._id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self._events.append(msg)

    def _wait_for(self, event: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e["method"] == event for e in self._events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event} within {self.timeout:.0f} s")
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self._events.append(msg)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluation failed: {result['exceptionDetails']}")
        return json.loads(result["result"]["value"])

    # -- a page ----------------------------------------------------------------------------
    def open(self, path: Path, screenshot: Path | None = None) -> Page:
        """Load a file, wait for its load event, and report what is wrong with it."""
        path = Path(path).resolve()
        self._events = []
        nav = self.call("Page.navigate", url=path.as_uri())
        if nav.get("errorText"):
            return Page(path, problems=[f"did not load: {nav['errorText']}"])
        self._wait_for("Page.loadEventFired")
        seen = self.evaluate(_INSPECT)
        page = Page(path, title=seen["title"], images=seen["images"], hrefs=seen["hrefs"], ids=set(seen["ids"]))
        self.call("Runtime.evaluate", expression="0")  # a round trip, so late console messages are in
        page.problems += self._console_problems()
        for code in seen["code"]:  # source shown as an output (a handler's) reads as code: monospace, unwrapped
            if code["white_space"] != "pre" or not re.search(r"mono|courier|menlo|consolas", code["font"], re.I):
                page.problems.append(f"code output shown as {code['white_space']} in {code['font']}")
        for img in seen["images"]:
            if not (img["width"] > 0 and img["decoded"]):
                page.problems.append(f"image does not decode: {img['src']}...")
        for ref in seen["hrefs"] + seen["srcs"]:
            problem = _missing_on_disk(path, ref, page.ids)
            if problem:
                page.problems.append(problem)
        self.call("Emulation.setEmulatedMedia", media="print")
        page.print_rules = self.evaluate(_PRINT)
        self.call("Emulation.setEmulatedMedia", media="")
        if screenshot is not None:
            shot = self.call("Page.captureScreenshot", format="png")
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
        page.problems = list(dict.fromkeys(page.problems))  # each problem once, in the order met
        return page

    def _console_problems(self) -> list[str]:
        problems = []
        for e in self._events:
            p = e.get("params", {})
            if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                problems.append(f"console {p['type']}: {text}")
            elif e["method"] == "Runtime.exceptionThrown":
                problems.append(f"uncaught: {p['exceptionDetails'].get('text', '')} "
                                f"{p['exceptionDetails'].get('exception', {}).get('description', '')}")
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
                problems.append(f"console error: {p['entry']['text']} {p['entry'].get('url', '')}".strip())
            elif e["method"] == "Network.requestWillBeSent":
                scheme = urlsplit(p["request"]["url"]).scheme
                if scheme not in ("file", "data", "about", "blob"):
                    problems.append(f"request leaves the machine: {p['request']['url'][:100]}")
        return problems


def _missing_on_disk(page: Path, ref: str, ids: set[str]) -> str | None:
    """A relative reference that does not resolve: the file is missing, or the #anchor has no id."""
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc:
        return None  # an absolute URL (https:, mailto:, data:): not a file of the handouts
    if not parts.path:
        if parts.fragment and unquote(parts.fragment) not in ids:
            return f"anchor #{parts.fragment} has no element with that id"
        return None
    target = (page.parent / unquote(parts.path)).resolve()
    if not target.exists():
        return f"link to {ref} does not resolve ({target} is missing)"
    return None


def anchors_across(pages: list[Page]) -> list[str]:
    """#anchors in links between the opened pages, checked against the target page's ids."""
    by_path = {p.path: p for p in pages}
    problems = []
    for page in pages:
        for ref in page.hrefs:
            parts = urlsplit(ref)
            if parts.scheme or parts.netloc or not parts.path or not parts.fragment:
                continue
            target = by_path.get((page.path.parent / unquote(parts.path)).resolve())
            if target is not None and unquote(parts.fragment) not in target.ids:
                problems.append(f"{page.path.name}: {ref} has no element with that id in {target.path.name}")
    return problems
