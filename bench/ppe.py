"""ppe.py: Python's ProcessPoolExecutor null-call round trip, an anchor.

Usage: python3 ppe.py CALLS -- prints the median round trip in
microseconds of submit(f).result() with one worker process."""
import concurrent.futures
import statistics
import sys
import time


def null(x):
    return x


def main():
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with concurrent.futures.ProcessPoolExecutor(max_workers=1) as ex:
        ex.submit(null, 0).result()
        lat = []
        for i in range(calls):
            t = time.perf_counter_ns()
            ex.submit(null, i).result()
            lat.append(time.perf_counter_ns() - t)
    print("ppe %.2f" % (statistics.median(lat) / 1e3))


if __name__ == "__main__":
    main()
