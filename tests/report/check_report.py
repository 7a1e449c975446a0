#!/usr/bin/python3
"""Opens a fatectl report in headless Chromium (Debian's) the way a person would, through the
DevTools protocol, and checks what is on the screen.

usage: check_report.py REPORT.html SCREENSHOT.png [--charts N] [--parties N]

Checks: the page loads from file:// and requests nothing else (no network, no fonts, no scripts);
no console message, JavaScript exception or log entry of level error; at least N chart <svg>
elements, each laid out with a non-empty box and at least one series <path> whose rendered length
is > 0; the confusion-matrix table and the job's parameter and party tables are there; one party
section per party. Saves a full-page screenshot. Exit 1 on any failure.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import websocket

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Cdp:
    def __init__(self, url):
        self.ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.next = 0
        self.events = []

    def call(self, method, params=None, session=None):
        self.next += 1
        msg = {"id": self.next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.ws.send(json.dumps(msg))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == self.next:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def wait_for(self, method, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            for m in self.events:
                if m.get("method") == method:
                    return m
            self.ws.settimeout(max(0.1, end - time.time()))
            try:
                self.events.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                break
        raise RuntimeError("no %s within %ss" % (method, timeout))


def main():
    args = sys.argv[1:]
    want_charts, want_parties = 8, 1
    if "--charts" in args:
        i = args.index("--charts"); want_charts = int(args[i + 1]); del args[i:i + 2]
    if "--parties" in args:
        i = args.index("--parties"); want_parties = int(args[i + 1]); del args[i:i + 2]
    report, shot = os.path.abspath(args[0]), args[1]
    profile = tempfile.mkdtemp(prefix="fatectl-chromium-")
    proc = subprocess.Popen([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                             "--user-data-dir=" + profile, "--remote-debugging-port=0", "--window-size=1400,1000",
                             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    bad = []
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and len(open(port_file).read().split("\n")) >= 2:
                break
            if proc.poll() is not None:
                raise SystemExit("chromium exited: " + proc.stderr.read().decode()[-2000:])
            time.sleep(0.1)
        port, path = open(port_file).read().split("\n")[:2]
        cdp = Cdp("ws://127.0.0.1:%s%s" % (port, path))
        target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.call(domain + ".enable", {}, sid)
        url = "file://" + report
        cdp.call("Page.navigate", {"url": url}, sid)
        cdp.wait_for("Page.loadEventFired")
        time.sleep(0.3)
        page = cdp.call("Runtime.evaluate", {"returnByValue": True, "expression": r"""(() => {
            const charts = [...document.querySelectorAll('svg.chart')].map(s => {
              const r = s.getBoundingClientRect();
              const paths = [...s.querySelectorAll('path.series')];
              return {title: (s.querySelector('title') || {}).textContent || '', w: r.width, h: r.height,
                      series: paths.length,
                      drawn: paths.filter(p => (p.getAttribute('d') || '').length > 2 && p.getTotalLength() > 0).length};
            });
            const sheets = [...document.styleSheets].map(s => [...s.cssRules].map(r => r.cssText).join('\n')).join('\n');
            return {charts, scripts: document.scripts.length, links: document.querySelectorAll('link').length,
                    images: document.querySelectorAll('img, image, object, embed, iframe').length,
                    urls: /url\(|@import|@font-face/.test(sheets),
                    parties: document.querySelectorAll('section.party h2').length,
                    confusion: document.querySelectorAll('table.confusion').length,
                    headings: [...document.querySelectorAll('h2, h3')].map(h => h.textContent),
                    width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight};
        })()"""}, sid)["result"]["value"]
        metrics = cdp.call("Page.getLayoutMetrics", {}, sid)["cssContentSize"]
        png = cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                  "clip": {"x": 0, "y": 0, "width": metrics["width"],
                                                           "height": min(metrics["height"], 16000), "scale": 1}}, sid)
        with open(shot, "wb") as f:
            f.write(base64.b64decode(png["data"]))
        # Everything the page asked for, and everything it said.
        requests = [e["params"]["request"]["url"] for e in cdp.events if e.get("method") == "Network.requestWillBeSent"]
        console = [e["params"] for e in cdp.events if e.get("method") in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown")]
        errors = [e["params"]["entry"] for e in cdp.events
                  if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] in ("error", "warning")]
        cdp.call("Target.closeTarget", {"targetId": target})
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)

    def check(ok, msg):
        print(("ok   " if ok else "FAIL ") + msg)
        if not ok:
            bad.append(msg)

    others = [u for u in requests if u != url]
    check(not others, "the page requested nothing but itself (%d other requests: %s)" % (len(others), others[:3]))
    check(not console, "no console messages or exceptions (%s)" % console[:2])
    check(not errors, "no error or warning log entries (%s)" % [e.get("text") for e in errors[:3]])
    check(page["scripts"] == 0 and page["links"] == 0 and page["images"] == 0 and not page["urls"],
          "no scripts, links, images or CSS urls/fonts")
    charts = page["charts"]
    check(len(charts) >= want_charts, "%d charts on the page (want >= %d)" % (len(charts), want_charts))
    empty = [c["title"] for c in charts if not (c["w"] > 100 and c["h"] > 100 and c["drawn"] >= 1)]
    check(not empty, "every chart is laid out and draws at least one non-empty series path (empty: %s)" % empty)
    for c in charts:
        print("     %-60s %4dx%-4d %d/%d series drawn" % (c["title"][:60], c["w"], c["h"], c["drawn"], c["series"]))
    check(page["confusion"] >= want_parties, "a confusion matrix per party (%d)" % page["confusion"])
    check(page["parties"] >= want_parties + 1, "%d party sections and the job section" % (page["parties"] - 1))
    check(any("Parameters" in h for h in page["headings"]) and any("Parties" in h for h in page["headings"]),
          "the job's parameters and parties are shown")
    check(os.path.getsize(shot) > 20000, "screenshot %s (%d bytes, page %dx%d)" % (shot, os.path.getsize(shot),
                                                                                page["width"], page["height"]))
    sys.exit(1 if bad else 0)


main()
