#!/usr/bin/env python3
"""Writes scenarios/captures/SYNTHETIC-evening.csv: a SYNTHETIC Performance
Monitor CSV log (PDH-CSV 4.0), made up for the test suite and the
perfmon-replay scenario; no real server was measured. Two hours at Perfmon's
default 15-second interval of an evening peak: Outlook RPC operations ramp
from 2/s to 12/s and back, inbound SMTP from 0.2/s to 1.5/s. The other
columns (latency, queue, CPU) are plausible made-up values for `storesim diff`
to compare with a run. Deterministic: run it again to get the same bytes.

Usage: tools/make-synthetic-capture.py > scenarios/captures/SYNTHETIC-evening.csv
"""
import math
import random
import sys
from datetime import datetime, timedelta

rng = random.Random(924567)
server = "SYNTHETIC"
cols = [
    r"\SMTP Server(_Total)\Messages Received/sec",
    r"\MSExchangeIS\RPC Operations/sec",
    r"\MSExchangeIS\RPC Averaged Latency",
    r"\MSExchangeIS\RPC Requests",
    r"\SMTP Server(_Total)\Local Queue Length",
]
out = sys.stdout
w = lambda fields: out.write(",".join('"%s"' % f for f in fields) + "\r\n")
w(["(PDH-CSV 4.0) (Coordinated Universal Time)(0)"] + ["\\\\" + server + c for c in cols])
start = datetime(2006, 8, 1, 18, 0, 0)
n = 2 * 3600 // 15 + 1
total_rpc = total_smtp = 0.0
for i in range(n):
    t = start + timedelta(seconds=15 * i)
    stamp = t.strftime("%m/%d/%Y %H:%M:%S.000")
    if i == 0:  # a rate counter has no value in a log's first sample
        w([stamp, " ", " ", " ", "0", "0"])
        continue
    peak = math.sin(math.pi * i / (n - 1))  # 0 .. 1 .. 0
    rpc = round(2 + 10 * peak + rng.uniform(-0.5, 0.5), 3)
    smtp = round(0.2 + 1.3 * peak + rng.uniform(-0.05, 0.05), 3)
    total_rpc += rpc * 15
    total_smtp += smtp * 15
    lat = round(18 + 6 * peak + rng.uniform(-2, 2), 3)
    w([stamp, "%.3f" % smtp, "%.3f" % rpc, "%.3f" % lat, str(rng.randint(0, 2)), str(rng.randint(0, 3))])
sys.stderr.write("expected arrivals: rpc %.1f smtp %.1f\n" % (total_rpc, total_smtp))
