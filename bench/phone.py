"""(f) The patient's phone: our served form page vs NLM LHC-Forms rendering the same Questionnaire JSON.

Debian's Chromium through Playwright at 375x812, CDP CPU throttling 4x and DevTools' "Slow 4G"
profile (562.5 ms latency, 180,000 B/s down, 84,375 B/s up). LHC-Forms is the npm `lforms`
package (its prebuilt web component from `dist/`, fetched with `npm pack` into bench/.cache:
the package ships built files only, so its Angular build dependencies are not needed), served
from a local folder with gzip and a one-hour cache lifetime (its best case). Each page is opened
in a fresh browser context (cold) and then again in the same context (warm). If npm or the
package is unavailable the section says so and is skipped; it never fails the run.
LHC-Forms is the U.S. National Library of Medicine's (its licence is LICENSE.md in the package);
nothing of it is committed here, it is fetched at run time into the ignored bench/.cache.
"""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import tarfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.forms import synthetic_questionnaire
from bench.servercost import LARGE

LFORMS_VERSION = "40.1.3"
CACHE = Path(__file__).resolve().parent / ".cache"
LIBRARY = Path(__file__).resolve().parent.parent / "smart_app" / "forms" / "library"
SLOW_4G = {"offline": False, "latency": 562.5, "downloadThroughput": 180_000, "uploadThroughput": 84_375}
# First question visible / first control that takes input, per renderer.
SELECTORS = {"ours": ("form label, form legend", "form input[type=radio], form input[type=text], form select"),
             "lhc-forms": ("lhc-item", "lhc-item input")}
PROBE = """
(() => {
  const [question, control] = %s;
  window.__bench = {};
  const shown = (el) => el && el.getBoundingClientRect().height > 0;
  function poll() {
    if (!window.__bench.visible && shown(document.querySelector(question))) window.__bench.visible = performance.now();
    const input = document.querySelector(control);
    if (!window.__bench.input && shown(input) && !input.disabled) {
      // a task scheduled now runs only when the main thread is free: that is when a tap would be handled
      setTimeout(() => { if (!window.__bench.input) window.__bench.input = performance.now(); }, 0);
    }
    if (!window.__bench.input) requestAnimationFrame(poll);
  }
  requestAnimationFrame(poll);
})();
"""


def lforms_dir() -> Path | None:
    """The unpacked lforms package (fetched once with npm pack), or None when npm cannot get it."""
    target = CACHE / f"lforms-{LFORMS_VERSION}"
    if (target / "dist" / "lforms" / "webcomponent" / "main.js").exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        return None
    CACHE.mkdir(parents=True, exist_ok=True)
    tarball = CACHE / f"lforms-{LFORMS_VERSION}.tgz"
    try:
        done = subprocess.run([npm, "pack", f"lforms@{LFORMS_VERSION}", "--silent"], cwd=CACHE, capture_output=True, text=True, timeout=240)
        if done.returncode != 0 or not tarball.exists():
            return None
        shutil.rmtree(CACHE / "unpack", ignore_errors=True)
        with tarfile.open(tarball) as tar:
            tar.extractall(CACHE / "unpack", filter="data")
        (CACHE / "unpack" / "package").rename(target)
    except (subprocess.SubprocessError, OSError, tarfile.TarError):
        return None
    finally:
        shutil.rmtree(CACHE / "unpack", ignore_errors=True)
        tarball.unlink(missing_ok=True)
    return target


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="lforms/webcomponent/styles.css"></head><body><div id="form"></div>
<script src="lforms/webcomponent/assets/lib/zone.min.js"></script>
<script src="lforms/webcomponent/runtime.js"></script><script src="lforms/webcomponent/polyfills.js"></script>
<script src="lforms/webcomponent/main.js"></script><script src="lforms/fhir/R4/lformsFHIR.min.js"></script>
<script src="{name}.js"></script>
<script>LForms.Util.addFormToPage(window.QUESTIONNAIRE, "form", {{}});</script></body></html>"""


def _site(workdir: Path, package: Path, forms: dict[str, dict]) -> Path:
    """A folder with LHC-Forms' files (gzipped copies beside them) and one page per form."""
    site = workdir / "lhc-site"
    dist = package / "dist" / "lforms"
    for rel in ("webcomponent/styles.css", "webcomponent/assets/lib/zone.min.js", "webcomponent/runtime.js",
                "webcomponent/polyfills.js", "webcomponent/main.js", "fhir/R4/lformsFHIR.min.js"):
        target = site / "lforms" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dist / rel, target)
    for name, questionnaire in forms.items():
        (site / f"{name}.js").write_text("window.QUESTIONNAIRE = " + json.dumps(questionnaire) + ";", encoding="utf-8")
        (site / f"{name}.html").write_text(_PAGE.format(name=name), encoding="utf-8")
    for path in list(site.rglob("*")):
        if path.is_file() and path.suffix in (".js", ".css", ".html"):
            path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes(), 6))
    return site


class _Static(SimpleHTTPRequestHandler):
    """Static files, gzip when the browser accepts it; the library cacheable for an hour, each visit's page and form not
    (they stand for what a real deployment would send per visit: the form and the person's answers)."""

    def send_head(self) -> Any:
        """Serve the .gz twin when there is one."""
        path = Path(self.translate_path(self.path))
        gz = path.with_name(path.name + ".gz")
        if "gzip" in self.headers.get("Accept-Encoding", "") and gz.exists():
            body = gz.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=3600" if "/lforms/" in self.path else "no-store")
            self.end_headers()
            self.wfile.write(body)
            return None
        return super().send_head()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def _visit(context: Any, url: str, renderer: str) -> dict[str, Any]:
    """Open url in the context under phone conditions: bytes over the network, first question visible, input accepted."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    cdp.send("Network.emulateNetworkConditions", SLOW_4G)
    received = {"bytes": 0, "requests": 0}
    urls: dict[str, str] = {}
    fetched: list[str] = []

    def sent(event: dict) -> None:
        """Remember which URL a request id is."""
        url = event["request"]["url"]
        if not url.startswith("data:"):
            urls[event["requestId"]] = url.split("?")[0].rsplit("/", 1)[-1] or "/"

    def finished(event: dict) -> None:
        """Count what came over the network (cache hits are 0)."""
        if event["requestId"] not in urls:
            return
        size = int(event.get("encodedDataLength", 0))
        received["bytes"] += size
        received["requests"] += 1
        fetched.append(f"{urls.get(event['requestId'], '?')} {size} B")

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.loadingFinished", finished)
    page.add_init_script(PROBE % json.dumps(SELECTORS[renderer]))
    page.goto(url, wait_until="commit", timeout=120_000)
    # Polled from here: the app's CSP rightly forbids the string evaluation wait_for_function uses.
    deadline = time.monotonic() + 120
    while not page.evaluate("() => Boolean(window.__bench && window.__bench.input)"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{renderer}: no question accepted input within 120 s")
        time.sleep(0.1)
    page.wait_for_load_state("load", timeout=120_000)
    marks = page.evaluate("window.__bench")
    page.close()
    return {"bytes": received["bytes"], "requests": received["requests"],
            "first_question_ms": round(marks["visible"]), "accepts_input_ms": round(marks["input"]), "fetched": fetched}


def measure_phone(world: Any, workdir: Path, app_url: str, handle: str, cookie: str, *, quick: bool = False) -> dict[str, Any]:
    """Both renderers, PHQ-9 and the large form, cold and warm."""
    package = lforms_dir()
    if package is None:
        return {"skipped": "npm or the lforms package is not available"}
    if not Path("/usr/bin/chromium").exists():
        return {"skipped": "Debian's Chromium (/usr/bin/chromium) is not installed"}
    from playwright.sync_api import sync_playwright

    forms = {"phq9": json.loads((LIBRARY / "phq-9.json").read_text(encoding="utf-8")), f"form{LARGE}": synthetic_questionnaire(LARGE)}
    site = _site(workdir, package, forms)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Static, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lhc_url = f"http://127.0.0.1:{server.server_address[1]}"
    ours = {"phq9": f"{app_url}/l/{handle}/questionnaires/phq-9", f"form{LARGE}": f"{app_url}/l/{handle}/questionnaires/bench-{LARGE}"}
    results: dict[str, Any] = {"lforms_version": LFORMS_VERSION, "cpu_throttling": 4, "network": "Slow 4G", "viewport": "375x812"}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                for name in forms:
                    for renderer, url in (("ours", ours[name]), ("lhc-forms", f"{lhc_url}/{name}.html")):
                        context = browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
                        host = app_url.split("//")[1].split(":")[0]
                        context.add_cookies([{"name": "smart_previsit", "value": cookie, "domain": host, "path": "/"}])
                        try:
                            results[f"{name}_{renderer}"] = {"cold": _visit(context, url, renderer), "warm": _visit(context, url, renderer)}
                        finally:
                            context.close()
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    import requests

    for name, url in ours.items():
        html = requests.get(url, headers={"Cookie": f"smart_previsit={cookie}"}, timeout=30).content
        results[f"{name}_ours_html"] = {"bytes": len(html), "gzip_bytes": len(gzip.compress(html, 6))}
    for name in forms:
        ours_r, lhc = results.get(f"{name}_ours"), results.get(f"{name}_lhc-forms")
        if ours_r and lhc:
            for visit in ("cold", "warm"):
                results[f"{name}_{visit}_ratio"] = {
                    "time": round(ours_r[visit]["accepts_input_ms"] / max(1, lhc[visit]["accepts_input_ms"]), 3),
                    "bytes": round(ours_r[visit]["bytes"] / max(1, lhc[visit]["bytes"]), 3)}
    return results
