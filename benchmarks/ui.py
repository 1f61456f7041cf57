#!/usr/bin/env python3
"""The weight and the speed of `aiquery serve`'s pages (run by benchmarks/ui.sh, with scripts/browser-venv's
python):

  * weight: for each page (/, /playground, /usage), the bytes of its HTML and of the scripts and style sheets it
    names, as the server sends them, and the same gzip-compressed (level 6, gzip's default); and all the files
    together, each counted once (target: under ~80 KB, the UI contract's budget);
  * time to an interactive page in headless Chromium: navigation start -> body[data-ready="1"] (the readiness
    marker the pages set once their data is loaded and their controls work), taken inside the page with
    performance.now() from a MutationObserver installed before the page's own scripts; median (and min, max) of
    RUNS loads with the browser's cache off, and RUNS with it warm.

Usage: ui.py SERVER_URL TOKEN [RUNS]
"""
import gzip
import json
import os
import re
import statistics
import sys
import urllib.request

os.environ["SE_OFFLINE"] = "true"  # Selenium Manager never goes online: driver and browser are given explicitly
os.environ["SE_AVOID_STATS"] = "true"

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

server, token = sys.argv[1].rstrip("/"), sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
PAGES = ["/", "/playground", "/usage"]


def get(path):
    with urllib.request.urlopen(server + path, timeout=30) as response:
        return response.read(), response.headers.get("Content-Encoding")


def weight():
    print("page weight, bytes as served (gzip -6 in brackets):")
    seen = {}
    for page in PAGES:
        html, encoding = get(page)
        if encoding:
            print(f"  note: the server sent {page} with Content-Encoding {encoding}")
        text = html.decode("utf-8", "replace")
        files = re.findall(r'<script[^>]*\bsrc="([^"]+)"', text) + \
            re.findall(r'<link[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"', text) + \
            re.findall(r'<link[^>]*\bhref="([^"]+)"[^>]*\brel="stylesheet"', text)
        parts = {"html": [html], "js": [], "css": []}
        for name in dict.fromkeys(files):
            body, _ = get(name)
            seen[name] = body
            parts["js" if name.endswith(".js") else "css"].append(body)
        seen[page] = html
        sizes = {kind: sum(len(b) for b in bodies) for kind, bodies in parts.items()}
        zipped = {kind: sum(len(gzip.compress(b, 6)) for b in bodies) for kind, bodies in parts.items()}
        total, total_zipped = sum(sizes.values()), sum(zipped.values())
        print(f"  {page:<12} html {sizes['html']:>6} ({zipped['html']:>5})  js {sizes['js']:>6} ({zipped['js']:>5})  "
              f"css {sizes['css']:>6} ({zipped['css']:>5})  total {total:>6} ({total_zipped:>5})")
    all_bytes = sum(len(b) for b in seen.values())
    all_zipped = sum(len(gzip.compress(b, 6)) for b in seen.values())
    print(f"  {'all files':<12} {len(seen)} files, {all_bytes} bytes ({all_zipped} gzip-compressed)")


# Installed before any script of the page: notes performance.now() (ms since navigation start) the first time
# body[data-ready="1"] is seen.
MARK = """
(() => {
  const note = () => {
    if (window.__readyAt === undefined && document.body && document.body.dataset.ready === "1") {
      window.__readyAt = performance.now();
      return true;
    }
    return false;
  };
  new MutationObserver((_, observer) => { if (note()) observer.disconnect(); })
    .observe(document, { subtree: true, attributes: true, attributeFilter: ["data-ready"], childList: true });
})();
"""


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,900",
                     "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": (
        f"if (location.origin === {json.dumps(server)}) sessionStorage.setItem('aiquery-token', {json.dumps(token)});"
        + MARK)})
    driver.execute_cdp_cmd("Network.enable", {})
    return driver


def load(driver, path):
    """ms from navigation start to body[data-ready="1"], and to the load event, of one navigation."""
    driver.get(server + path)
    try:
        ready = WebDriverWait(driver, 60, poll_frequency=0.02).until(lambda d: d.execute_script("return window.__readyAt"))
    except TimeoutException:
        state = driver.execute_script(
            "return {ready: document.body && document.body.dataset.ready, marked: window.__readyAt,"
            " error: (document.querySelector('#page-error') || {}).textContent}")
        sys.exit(f"{path}: body[data-ready=\"1\"] not seen within 60 s: {state}")
    loaded = driver.execute_script("const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd")
    return ready, loaded


def timing():
    driver = browser()
    try:
        print(f"time to interactive, navigation start -> body[data-ready=\"1\"], ms, median (min..max) of {runs} loads:")
        for path in PAGES:
            row = []
            for cache in ("off", "warm"):
                driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": cache == "off"})
                load(driver, path)  # not counted: the first load of a page in this mode
                samples = [load(driver, path) for _ in range(runs)]
                ready = [r for r, _ in samples]
                loaded = [l for _, l in samples]
                row.append(f"cache {cache}: {statistics.median(ready):6.1f} ({min(ready):.1f}..{max(ready):.1f})"
                           f" [load event {statistics.median(loaded):.1f}]")
            print(f"  {path:<12} " + "   ".join(row))
    finally:
        driver.quit()


weight()
timing()
