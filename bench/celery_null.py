"""celery_null.py: Celery's null task round trip on Redis, a baseline.

Usage: python3 celery_null.py REDIS_URL CALLS
REDIS_URL (redis://HOST:PORT/DB or redis+socket:///PATH) is both the
broker and the result backend.  The script starts one worker (celery
worker --pool=solo, one process, without gossip, mingle and heartbeat,
which only slow its start) as a subprocess, its output in a temporary
file; waits until the worker answers a task (60 s at most); makes CALLS /
10 untimed calls (at least 20), then times CALLS round trips of
null.delay(i).get(); prints p50, p99 and p99.9 in microseconds, one "KEY
VALUE" line each (celery_p50, celery_p99, celery_p999); then stops the
worker (SIGTERM, SIGKILL after 10 s).  Every wait is bounded: a call
that takes more than 30 s (a watchdog thread stops the script even when
get() ignores its timeout), or a worker that dies, fails the script
(exit 1, the worker's last lines on stderr).  There is no default URL:
the system's Redis is never used by mistake.  The worker is killed at
exit whatever happens, and by the kernel if this script dies first
(PR_SET_PDEATHSIG).  As a module (celery -A celery_null) it is the
worker's app; the URL comes in CELERY_NULL_URL.
"""
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time


# Nothing is written into the source tree (no bench/__pycache__/).
sys.dont_write_bytecode = True

if __name__ == "__main__":
    # The script and the worker use one module, celery_null, and one URL.
    if len(sys.argv) > 1:
        os.environ["CELERY_NULL_URL"] = sys.argv[1]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import celery_null

    sys.exit(celery_null.main())

import celery.exceptions  # noqa: E402
from celery import Celery  # noqa: E402

# Never a default: a Redis the bench did not start (the system's, on port
# 6379) must not be used.
URL = os.environ.get("CELERY_NULL_URL", "")
if not URL.startswith(("redis://", "redis+socket://")):
    sys.stderr.write("celery_null: the Redis URL must be redis://HOST:PORT/DB or "
                     "redis+socket:///PATH (argument, or CELERY_NULL_URL for the "
                     "worker), not '%s'\n" % URL)
    sys.exit(2)
QUEUE = "celery_null"
app = Celery("celery_null", broker=URL, backend=URL)
app.conf.update(
    task_default_queue=QUEUE,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=3,
    worker_hijack_root_logger=False,
    worker_prefetch_multiplier=1,
)


@app.task(name="celery_null.null")
def null(x):
    return x


START_S = 60
CALL_S = 30
STOP_S = 10


def quantile(s, q):
    return s[min(int(len(s) * q), len(s) - 1)]


def die_with_parent():
    # The worker dies with this script, even if it is killed with SIGKILL.
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Worker:
    def __init__(self, url):
        self.log = tempfile.NamedTemporaryFile(prefix="celery_null.", suffix=".log")
        env = dict(os.environ, CELERY_NULL_URL=url, PYTHONDONTWRITEBYTECODE="1")
        here = os.path.dirname(os.path.abspath(__file__))
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (here, env.get("PYTHONPATH")) if p)
        # The node name stays the default: with -n celery_null@..., a name
        # equal to the queue's, no task after the first was answered.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "celery_null", "worker",
             "--pool=solo", "--loglevel=WARNING", "-Q", QUEUE,
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=here, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent)

    def tail(self):
        try:
            with open(self.log.name, errors="replace") as f:
                return "".join(f.readlines()[-20:])
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def fail(msg, worker):
    sys.stderr.write("celery_null: %s\n" % msg)
    t = worker.tail() if worker else ""
    if t:
        sys.stderr.write("celery_null: the worker's last lines:\n")
        sys.stderr.write("".join("celery_null:   " + l + "\n" for l in t.splitlines()))
    return 1


# The last time a step completed; the watchdog sends SIGTERM to this
# process when none has for CALL_S seconds (START_S while the worker
# starts): a get() that waits in a socket read despite its timeout must
# not hang the bench.
progress = [time.monotonic(), START_S]


def step(limit=CALL_S):
    progress[0], progress[1] = time.monotonic(), limit


def watchdog():
    while True:
        time.sleep(1)
        if time.monotonic() - progress[0] > progress[1]:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def run(url, calls, worker):
    # Wait until the worker answers a first task (sent once: it waits in
    # the queue until the worker reads it), checking that the worker lives.
    deadline = time.monotonic() + START_S
    r = null.delay(-1)
    while True:
        try:
            if r.get(timeout=1) == -1:
                break
            return fail("the first call returned something else", worker)
        except celery.exceptions.TimeoutError:
            pass
        if not worker.alive():
            return fail("the worker exited (status %s) before it answered"
                        % worker.proc.returncode, worker)
        if time.monotonic() > deadline:
            return fail("the worker did not answer within %d s" % START_S, worker)
    step()
    for i in range(max(20, calls // 10)):
        null.delay(i).get(timeout=CALL_S)
        step()
    lat = []
    for i in range(calls):
        t = time.perf_counter_ns()
        v = null.delay(i).get(timeout=CALL_S)
        lat.append(time.perf_counter_ns() - t)
        step()
        if v != i:
            return fail("call %d returned %r" % (i, v), worker)
    lat.sort()
    for name, q in (("p50", 0.5), ("p99", 0.99), ("p999", 0.999)):
        print("celery_%s %.2f" % (name, quantile(lat, q) / 1e3))
    return 0


def main():
    if len(sys.argv) != 3 or not sys.argv[2].isdigit() or int(sys.argv[2]) < 1:
        sys.stderr.write("usage: celery_null.py REDIS_URL CALLS\n")
        return 2
    url, calls = sys.argv[1], int(sys.argv[2])
    worker = None
    # SIGTERM (timeout(1), or the watchdog) stops the worker too, through
    # the finally.
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(
        fail("stopped (SIGTERM: timeout, or no progress for %d s)" % CALL_S, worker)))
    threading.Thread(target=watchdog, daemon=True).start()
    try:
        worker = Worker(url)
        return run(url, calls, worker)
    except Exception as e:
        return fail("%s: %s" % (type(e).__name__, e), worker)
    finally:
        if worker:
            worker.stop()
            worker.log.close()

