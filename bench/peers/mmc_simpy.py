#!/usr/bin/python3
"""M/M/c in SimPy 2: the peer that storesim's `storesim-bench mmc` is compared with.

The model is the one a SimPy 2 user would write: one Process per customer, a
Resource of capacity c for the servers, Poisson arrivals (rate lambda) from a source
process, exponential service (rate mu), FIFO queue.  The first --warmup fraction of
customers (by arrival order) is discarded before the statistics are taken.

Prints one line:
  peer=simpy customers=N wall_s=... customers_per_s=... mean_wait=... p_wait=...
  erlang_c_wait=... erlang_c_p=... cpu_s=...
wall_s (and cpu_s, the process's CPU time over the same span) covers only the simulation run (model construction and the run loop), not
the interpreter start-up nor the statistics; customers_per_s = N / wall_s, with N
counting every simulated customer, warm-up included.

With --rng xoshiro the arrival and service draws are those of mmc_ref.c (same seed,
same streams, same order), so mean_wait and p_wait must equal its output up to
rounding; run.sh uses that as an exact check of the model, untimed.

Needs the Debian package python3-simpy (SimPy 2.3, module name `SimPy`); run it
with /usr/bin/python3, whose dist-packages hold that module.
"""

import argparse
import math
import random
import sys
import time

try:
    from SimPy.Simulation import Process, Resource, Simulation, hold, release, request
except ImportError:
    sys.exit("mmc_simpy.py: SimPy 2 not found: apt-get install python3-simpy, "
             "and run with /usr/bin/python3")


M64 = (1 << 64) - 1


class Xoshiro:
    """xoshiro256** seeded through splitmix64, drawing exactly as mmc_ref.c and
    mmc_simgrid.c do.  Only for --rng xoshiro, the verification run: it is several
    times slower than `random`, so timed runs keep Python's own generator."""

    def __init__(self, seed):
        x = seed & M64
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def expovariate(self, rate):
        s = self.s
        r = ((s[1] * 5) & M64)
        out = ((((r << 7) | (r >> 57)) & M64) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = ((s[3] << 45) | (s[3] >> 19)) & M64
        u = ((out >> 11) + 1) * 2.0 ** -53
        return -math.log(u) / rate


def erlang_c(lam, mu, c):
    """(P(wait > 0), mean wait in queue) for M/M/c, via the Erlang B recursion."""
    a = lam / mu
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    p = b / (1.0 - rho * (1.0 - b))
    return p, p / (c * mu - lam)


class Customer(Process):
    def visit(self, servers, service, waits, i):
        arrived = self.sim.now()
        yield request, self, servers
        waits[i] = self.sim.now() - arrived
        yield hold, self, service
        yield release, self, servers


class Source(Process):
    def generate(self, n, lam, mu, servers, waits, arr_rng, svc_rng):
        sim = self.sim
        for i in range(n):
            cust = Customer(sim=sim)
            sim.activate(cust, cust.visit(servers, svc_rng.expovariate(mu), waits, i))
            if i + 1 < n:
                yield hold, self, arr_rng.expovariate(lam)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lambda", dest="lam", type=float, default=9.0)
    ap.add_argument("--mu", type=float, default=1.0)
    ap.add_argument("--servers", type=int, default=10)
    ap.add_argument("--customers", type=int, default=200000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--warmup", type=float, default=0.1,
                    help="fraction of customers discarded at the start (default 0.1)")
    ap.add_argument("--rng", choices=("python", "xoshiro"), default="python",
                    help="python: random.Random (timed runs); xoshiro: the streams of "
                         "mmc_ref.c, for an exact check (slower)")
    o = ap.parse_args()
    if o.lam <= 0 or o.mu <= 0 or o.servers < 1 or o.customers < 10:
        ap.error("need lambda > 0, mu > 0, servers >= 1, customers >= 10")
    if o.lam >= o.servers * o.mu:
        ap.error("unstable: lambda must be < servers * mu")
    if not 0.0 <= o.warmup < 1.0:
        ap.error("warmup must be in [0, 1)")

    # Two independent streams, so arrivals do not shift when the service draws change.
    gen = Xoshiro if o.rng == "xoshiro" else random.Random
    arr_rng = gen(o.seed * 2 + 1)
    svc_rng = gen(o.seed * 2 + 2)
    waits = [None] * o.customers

    t0 = time.perf_counter()
    c0 = time.process_time()
    sim = Simulation()
    sim.initialize()
    servers = Resource(capacity=o.servers, sim=sim)
    src = Source(sim=sim)
    sim.activate(src, src.generate(o.customers, o.lam, o.mu, servers, waits,
                                   arr_rng, svc_rng))
    sim.simulate(until=float("inf"))
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0

    kept = waits[int(o.customers * o.warmup):]
    if any(w is None for w in kept):
        sys.exit("mmc_simpy.py: a customer never got a server (simulation ended early)")
    mean_wait = sum(kept) / len(kept)
    p_wait = sum(1 for w in kept if w > 0.0) / len(kept)
    ec_p, ec_w = erlang_c(o.lam, o.mu, o.servers)
    print("peer=simpy customers=%d wall_s=%.6f customers_per_s=%.1f mean_wait=%.6f "
          "p_wait=%.6f erlang_c_wait=%.6f erlang_c_p=%.6f cpu_s=%.6f"
          % (o.customers, wall, o.customers / wall, mean_wait, p_wait, ec_w, ec_p, cpu))


if __name__ == "__main__":
    main()
