"""Four M/M/c queues in SimPy, the same as bench/simpy/mmc4.toml gives tokengrid: c = 8, 16,
32 and 64 servers at loads 0.5, 0.7, 0.8 and 0.9, exponential service of mean 1 s, Poisson
arrivals, 3.2 simulated hours. Prints customers served and the mean wait per queue."""

import random
import sys

import simpy

QUEUES = [(8, 0.5), (16, 0.7), (32, 0.8), (64, 0.9)]
MEAN_SERVICE_S = 1.0
DURATION_S = 3.2 * 3600


def customer(env, servers, rng, stats):
    arrived = env.now
    with servers.request() as req:
        yield req
        stats["wait"] += env.now - arrived
        yield env.timeout(rng.expovariate(1.0 / MEAN_SERVICE_S))
    stats["served"] += 1


def arrivals(env, servers, rate, rng, stats):
    while env.now < DURATION_S:
        yield env.timeout(rng.expovariate(rate))
        env.process(customer(env, servers, rng, stats))


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 2026
    env = simpy.Environment()
    all_stats = []
    for i, (c, rho) in enumerate(QUEUES):
        rng = random.Random(seed + i)
        servers = simpy.Resource(env, capacity=c)
        stats = {"served": 0, "wait": 0.0}
        all_stats.append((c, rho, stats))
        env.process(arrivals(env, servers, rho * c / MEAN_SERVICE_S, rng, stats))
    env.run()
    total = 0
    for c, rho, s in all_stats:
        total += s["served"]
        print(f"M/M/{c} at {rho}: {s['served']} served, mean wait {s['wait'] / max(s['served'], 1) * 1e3:.1f} ms")
    print(f"customers {total}")


if __name__ == "__main__":
    main()
