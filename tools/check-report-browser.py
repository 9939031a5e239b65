#!/usr/bin/env python3
"""Opens a storesim HTML report in headless Chromium and checks it.

Chromium is driven through its DevTools protocol (a small WebSocket client
from the standard library only): the console and the log are enabled on a
blank page first, then the report is loaded, so that every console message,
uncaught exception and failed resource load is seen. The check fails on any
console error or warning-level log entry, when the page's own check (left in
<html data-check=...> by its inline script) finds a plot without its data
lines, a variant without data drawn as a line or missing from the legend,
a variant equal to another without its "same as" legend entry and markers,
or a wait-for graph without nodes, or when fewer plots than --min-plots (or
fewer such variants than --min-same and --min-none) are present. Screenshots (top of the page and the whole page,
up to 16,000 px high) are written as test artefacts.

Usage: check-report-browser.py REPORT.html [--screenshot-dir DIR]
                               [--min-plots N] [--min-graphs N] [--min-same N]
                               [--min-none N] [--chromium PATH]
Exit 0 when the page passes, 1 with one line per problem, 2 when Chromium
cannot be started (or usage errors).
"""
import base64
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--hide-scrollbars", "--remote-debugging-port=0"]


class WS:
    """Minimal WebSocket client (RFC 6455): text frames, client masking."""

    def __init__(self, url):
        m = re.match(r"ws://([^/:]+):(\d+)(/.*)", url)
        host, port, path = m.group(1), int(m.group(2)), m.group(3)
        self.s = socket.create_connection((host, port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n")
        self.s.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.s.recv(4096)
            if not chunk:
                raise OSError("websocket handshake: connection closed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise OSError("websocket handshake refused: " + head.split(b"\r\n", 1)[0].decode())
        self.buf = head.split(b"\r\n\r\n", 1)[1]

    def send(self, text):
        data = text.encode()
        hdr = bytearray([0x81])
        n = len(data)
        if n < 126:
            hdr.append(0x80 | n)
        elif n < 65536:
            hdr.append(0x80 | 126)
            hdr += struct.pack(">H", n)
        else:
            hdr.append(0x80 | 127)
            hdr += struct.pack(">Q", n)
        mask = os.urandom(4)
        hdr += mask
        self.s.sendall(bytes(hdr) + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise OSError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            op = b0 & 0x0F
            if op == 8:
                raise OSError("websocket closed by peer")
            if op in (9, 10):
                continue
            msg += payload
            if b0 & 0x80:
                return msg.decode("utf-8", "replace")


class Page:
    def __init__(self, ws):
        self.ws, self.next_id, self.events = ws, 0, []

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == my:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, name, timeout=60):
        end = time.time() + timeout
        for e in self.events:
            if e["method"] == name:
                return e
        while time.time() < end:
            m = json.loads(self.ws.recv())
            if "method" in m:
                self.events.append(m)
                if m["method"] == name:
                    return m
        raise TimeoutError(name)


def find_chromium(given):
    for c in ([given] if given else []) + ["chromium", "chromium-browser", "google-chrome"]:
        p = shutil.which(c) if c else None
        if p:
            return p
    return None


def main(argv):
    args = argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if args else 2
    report, shots, min_plots, min_graphs, chromium = None, None, 1, 0, None
    min_same, min_none = 0, 0
    while args:
        a = args.pop(0)
        if a == "--screenshot-dir" and args:
            shots = args.pop(0)
        elif a == "--min-plots" and args:
            min_plots = int(args.pop(0))
        elif a == "--min-graphs" and args:
            min_graphs = int(args.pop(0))
        elif a == "--min-same" and args:
            min_same = int(args.pop(0))
        elif a == "--min-none" and args:
            min_none = int(args.pop(0))
        elif a == "--chromium" and args:
            chromium = args.pop(0)
        elif not a.startswith("-") and report is None:
            report = a
        else:
            print(f"check-report-browser: bad argument {a}", file=sys.stderr)
            return 2
    exe = find_chromium(chromium)
    if not exe:
        print("check-report-browser: chromium not found (Debian: apt-get install chromium; "
              "tools/setup.sh installs it)", file=sys.stderr)
        return 2
    url = "file://" + os.path.abspath(report)
    profile = tempfile.mkdtemp(prefix="storesim-chromium-")
    proc = subprocess.Popen([exe] + FLAGS + [f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    problems = []
    try:
        port = None
        end = time.time() + 60
        while time.time() < end:
            line = proc.stderr.readline()
            if not line:
                break
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
                break
        if not port:
            print("check-report-browser: chromium did not open its DevTools port", file=sys.stderr)
            return 2
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30))
        page_t = next(t for t in targets if t.get("type") == "page")
        page = Page(WS(page_t["webSocketDebuggerUrl"]))
        page.call("Runtime.enable")
        page.call("Log.enable")
        page.call("Page.enable")
        page.call("Emulation.setDeviceMetricsOverride", width=1400, height=1800,
                  deviceScaleFactor=1, mobile=False)
        page.events.clear()
        page.call("Page.navigate", url=url)
        page.wait_event("Page.loadEventFired", timeout=120)
        res = page.call("Runtime.evaluate",
                        expression="document.documentElement.getAttribute('data-check')",
                        returnByValue=True)
        check = res.get("result", {}).get("value")
        # drain events that arrived with the load
        page.call("Runtime.evaluate", expression="1")
        for e in page.events:
            if e["method"] == "Runtime.consoleAPICalled":
                p = e["params"]
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
                if p["type"] in ("error", "assert", "warning"):
                    problems.append(f"console {p['type']}: {text}")
            elif e["method"] == "Runtime.exceptionThrown":
                d = e["params"]["exceptionDetails"]
                problems.append("uncaught exception: " +
                                d.get("exception", {}).get("description", d.get("text", "")))
            elif e["method"] == "Log.entryAdded":
                en = e["params"]["entry"]
                if en["level"] in ("error", "warning"):
                    problems.append(f"log {en['level']} ({en.get('source')}): {en.get('text')} "
                                    f"{en.get('url', '')}")
        if not check:
            problems.append("the page's check did not run (no data-check attribute)")
        else:
            c = json.loads(check)
            print(f"report: {c['plots']} plots with {c['lines']} data lines, "
                  f"{c['same']} variants drawn the same as another (marked), "
                  f"{c['none']} without data (legend only), {c['graphs']} wait-for graphs")
            for b in c["bad"]:
                problems.append(f"the page's check: {b}")
            if c["plots"] < min_plots:
                problems.append(f"{c['plots']} plots, expected at least {min_plots}")
            if c["same"] < min_same:
                problems.append(f"{c['same']} variants marked the same as another, expected at "
                                f"least {min_same}")
            if c["none"] < min_none:
                problems.append(f"{c['none']} variants without data in a legend, expected at "
                                f"least {min_none}")
            if c["graphs"] < min_graphs:
                problems.append(f"{c['graphs']} wait-for graphs, expected at least {min_graphs}")
        if shots:
            os.makedirs(shots, exist_ok=True)
            top = page.call("Page.captureScreenshot", format="png")
            with open(os.path.join(shots, "report-top.png"), "wb") as f:
                f.write(base64.b64decode(top["data"]))
            size = page.call("Page.getLayoutMetrics")["cssContentSize"]
            h = min(int(size["height"]), 16000)
            page.call("Emulation.setDeviceMetricsOverride", width=1400, height=h,
                      deviceScaleFactor=1, mobile=False)
            full = page.call("Page.captureScreenshot", format="png")
            with open(os.path.join(shots, "report-full.png"), "wb") as f:
                f.write(base64.b64decode(full["data"]))
            print(f"screenshots: {shots}/report-top.png, {shots}/report-full.png")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
