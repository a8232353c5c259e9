"""ppe.py: Python's ProcessPoolExecutor null-call round trip, an anchor.

Usage: python3 ppe.py CALLS -- prints p50, p99 and p99.9 in microseconds
of submit(f).result() with one worker process, one "KEY VALUE" line each
(ppe_p50, ppe_p99, ppe_p999)."""
import concurrent.futures
import sys
import time


def null(x):
    return x


def quantile(s, q):
    return s[min(int(len(s) * q), len(s) - 1)]


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with concurrent.futures.ProcessPoolExecutor(max_workers=1) as ex:
        ex.submit(null, 0).result()
        lat = []
        for i in range(calls):
            t = time.perf_counter_ns()
            ex.submit(null, i).result()
            lat.append(time.perf_counter_ns() - t)
    lat.sort()
    for name, q in (("p50", 0.5), ("p99", 0.99), ("p999", 0.999)):
        print("ppe_%s %.2f" % (name, quantile(lat, q) / 1e3))


if __name__ == "__main__":
    main()
