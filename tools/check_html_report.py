#!/usr/bin/env python3
"""Render a `vfw verify --html` page in headless Chromium, offline, and check what a reader would see.

    python tools/check_html_report.py PAGE.html [--expect-source TAP ...] [--screenshot OUT.png]

Chromium (Debian's `chromium`, installed by `make deps`) is driven over the DevTools protocol on a pipe
(--remote-debugging-pipe: fd 3 in, fd 4 out, NUL-terminated JSON), with name resolution and proxying pointed at
nothing, so the page has no network to reach. Checks, failing with one line each:
  - no console message of level error or warning, no uncaught exception, no browser log error (a blocked
    request shows up as one), and no request for anything but the page itself (data: URLs aside);
  - the script drew the page (<html data-rendered="ok">), and the screenshot is not blank: the chart's area
    holds many non-white pixels in several colours;
  - for every reference section that names a failure source ("failure source: TAP (...)" under its header),
    the chart's ring for that source exists, stands in TAP's column, and the screenshot shows the failing
    colour (red) at its centre, while a passing tap's point shows the passing colour (green);
  - hovering the mark (a real mouse move) shows a tooltip with that tap's name and numbers;
  - --expect-source: the first failure source of each failing section, in order, is the one expected.
--screenshot writes the top of the page (header and chart) as a small PNG (the README's picture).
"""
import argparse
import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from PIL import Image

WIDTH, HEIGHT = 1200, 900


class Fail(Exception):
    pass


class Chromium:
    """One headless Chromium with a DevTools pipe and one page session."""

    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="vfw-chromium-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():
            # The protocol pipe must be fds 3 and 4 in Chromium; dup first so a source already at 3 or 4 survives.
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [binary, "--headless", "--remote-debugging-pipe", "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-extensions", "--disable-background-networking", "--disable-sync",
                "--disable-component-update", "--disable-domain-reliability", "--no-pings", "--mute-audio",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
                "--hide-scrollbars", "--force-device-scale-factor=1", "--font-render-hinting=none",
                f"--window-size={WIDTH},{HEIGHT}", f"--user-data-dir={self.profile}", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run its sandbox as root (CI containers)
        self.proc = subprocess.Popen(args, preexec_fn=fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def send(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self.read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise Fail(f"chromium: {method}: {m['error'].get('message')}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def read(self, deadline):
        while b"\0" not in self.buffer:
            if time.time() > deadline:
                raise Fail("chromium: no answer within the time limit")
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                raise Fail("chromium: the browser exited")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def wait_event(self, method, timeout=30):
        deadline = time.time() + timeout
        for e in self.events:
            if e["method"] == method:
                return e
        while True:
            m = self.read(deadline)
            if "method" in m:
                self.events.append(m)
                if m["method"] == method:
                    return m

    def evaluate(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in r:
            raise Fail(f"page: evaluating {expression[:60]!r} threw {r['exceptionDetails'].get('text')}")
        return r["result"].get("value")

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def is_red(p):
    return p[0] > 170 and p[1] < 110 and p[2] < 110


def is_green(p):
    return p[1] > 90 and p[0] < 90 and p[2] < 110


def near(img, x, y, test, radius=2):
    """True when some pixel within `radius` of (x, y) passes `test` (antialiasing moves edges by a pixel)."""
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if 0 <= x + dx < img.width and 0 <= y + dy < img.height and test(img.getpixel((x + dx, y + dy))):
                return True
    return False


def check(page, expect_sources, screenshot, binary):
    url = "file://" + os.path.abspath(page)
    b = Chromium(binary)
    try:
        targets = b.send("Target.getTargets", session=False)["targetInfos"]
        target = next(t for t in targets if t["type"] == "page")
        b.session = b.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            b.send(domain + ".enable")
        b.send("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
        b.send("Page.navigate", {"url": url})
        b.wait_event("Page.loadEventFired")
        # The page draws synchronously in its script; let layout and paint settle.
        b.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        time.sleep(0.2)

        rendered = b.evaluate("document.documentElement.dataset.rendered || ''")
        marks = json.loads(b.evaluate("document.documentElement.dataset.failureMarks || '[]'"))
        sections = b.evaluate("""[...document.querySelectorAll('section.model')].map((s, i) => {
            const line = s.querySelector('p.source');
            const chart = s.querySelector('svg.chart');
            const box = chart ? chart.getBoundingClientRect() : null;
            const col = name => { const h = chart && [...chart.querySelectorAll('rect.hit')].find(r => r.dataset.tap === name);
                                  if (!h) return null; const b = h.getBoundingClientRect();
                                  return {left: b.left + scrollX, right: b.right + scrollX}; };
            const pass = chart && [...chart.querySelectorAll('circle.pt.pass')][0];
            const pb = pass ? pass.getBoundingClientRect() : null;
            const sourceLine = line ? line.textContent : '';
            const m = sourceLine.match(/^failure source: (\\S+) \\(/);
            return {model: s.querySelector('h2').firstChild.textContent, sourceLine,
                    source: m ? m[1] : null, sourceColumn: m ? col(m[1]) : null,
                    chart: box && {x: box.left + scrollX, y: box.top + scrollY, w: box.width, h: box.height},
                    passPoint: pb && {tap: pass.dataset.tap, x: Math.round(pb.left + pb.width / 2 + scrollX), y: Math.round(pb.top + pb.height / 2 + scrollY)}};
        })""")
        height = b.evaluate("Math.ceil(document.documentElement.scrollHeight)")
        shot = b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                 "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1}})
        img = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
        # Hover: a real mouse move onto each first failure-source mark must show that tap's numbers.
        hovers = []
        for m in marks:
            if not m["first"]:
                continue
            b.evaluate(f"window.scrollTo(0, {max(0, m['y'] - HEIGHT // 2)})")
            scroll = b.evaluate("window.scrollY")
            b.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": m["x"], "y": m["y"] - scroll})
            tip = b.evaluate("(() => { const t = document.getElementById('tooltip'); return t.hidden ? null : t.innerText; })()")
            hovers.append((m, tip))
        events = list(b.events)
    finally:
        b.close()

    problems = []
    # Console, exceptions, browser log, network.
    for e in events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            problems.append(f"console {p['type']}: {text}")
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            problems.append(f"uncaught exception: {d.get('exception', {}).get('description') or d.get('text')}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
            problems.append(f"browser log {p['entry']['level']}: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        elif m == "Network.requestWillBeSent":
            u = p.get("request", {}).get("url", "")
            if u != url and not u.startswith("data:"):
                problems.append(f"network request: {u}")
    if rendered != "ok":
        problems.append("the page's script did not finish drawing (no data-rendered=\"ok\")")
    if not sections:
        problems.append("no reference section was drawn")

    # Not blank: every chart area holds ink in more than two colours.
    for s in sections:
        c = s["chart"]
        if not c:
            if not s["sourceLine"].startswith("could not"):
                problems.append(f"{s['model']}: no chart")
            continue
        crop = img.crop((int(c["x"]), int(c["y"]), int(c["x"] + c["w"]), int(c["y"] + c["h"])))
        small = crop.resize((max(1, crop.width // 2), max(1, crop.height // 2)))
        pixels = list(small.get_flattened_data() if hasattr(small, 'get_flattened_data') else small.getdata())
        ink = sum(1 for p in pixels if sum(p) < 720)
        colours = len(set(p for p in pixels if sum(p) < 720))
        if ink < 0.01 * len(pixels) or colours < 3:
            problems.append(f"{s['model']}: the chart is blank in the screenshot ({ink} inked pixels of {len(pixels)}, {colours} colours)")
        pp = s["passPoint"]
        if pp and not near(img, pp["x"], pp["y"], is_green):
            problems.append(f"{s['model']}: the passing tap {pp['tap']}'s point at ({pp['x']}, {pp['y']}) is not green in the screenshot")

    # Failure sources: named, marked in their column, red where the mark is.
    failing = [s for s in sections if s["source"]]
    for s in failing:
        mark = next((m for m in marks if m["model"] == s["model"] and m["first"]), None)
        if not mark:
            problems.append(f"{s['model']}: the page names failure source {s['source']} but the chart has no mark for it")
            continue
        if mark["tap"] != s["source"]:
            problems.append(f"{s['model']}: the chart marks {mark['tap']} but the page names {s['source']} as the failure source")
        col = s["sourceColumn"]
        if not col or not (col["left"] <= mark["x"] <= col["right"]):
            problems.append(f"{s['model']}: the mark at x={mark['x']} is not in {s['source']}'s column {col}")
        if not near(img, mark["x"], mark["y"], is_red):
            problems.append(f"{s['model']}: the screenshot is not red at the failure source mark ({mark['x']}, {mark['y']}): {img.getpixel((mark['x'], mark['y']))}")
    for m, tip in hovers:
        if not tip or not tip.startswith(m["tap"] + " ") or "max abs" not in tip:
            problems.append(f"{m['model']}: hovering the failure source mark shows {tip!r}, not {m['tap']}'s numbers")
    if expect_sources is not None:
        got = [s["source"] for s in failing]
        if got != expect_sources:
            problems.append(f"failure sources named {got}, expected {expect_sources}")

    if screenshot:
        # The header and the first chart: the README's picture, quantised to a small palette.
        c = next((s["chart"] for s in sections if s["chart"]), None)
        bottom = min(img.height, int(c["y"] + c["h"] + 12) if c else 700)
        top_part = img.crop((0, 0, WIDTH, bottom))
        top_part.quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(screenshot, optimize=True)

    if problems:
        raise Fail("; ".join(problems))
    names = ", ".join(f"{s['model']}: {s['source']}" for s in failing) or "none"
    print(f"{page}: rendered offline in Chromium, no console error, no request; {len(sections)} section(s), "
          f"failure sources marked where named, hover shows their numbers ({names})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("page")
    ap.add_argument("--expect-source", action="append", help="the failure source of the next failing section (repeatable)")
    ap.add_argument("--screenshot", help="write the top of the page (header and chart) to this PNG")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    a = ap.parse_args()
    if not os.path.isfile(a.page):
        print(f"{a.page}: no such file")
        sys.exit(2)
    if not shutil.which(a.chromium):
        print(f"{a.chromium}: not installed; `make deps` installs Debian's chromium")
        sys.exit(2)
    try:
        check(a.page, a.expect_source, a.screenshot, a.chromium)
    except Fail as e:
        print(f"{a.page}: {e}")
        sys.exit(1)


if __name__ == "__main__":
    main()
