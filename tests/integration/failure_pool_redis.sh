#!/bin/bash
# failure_pool_redis.sh: failure_pool.sh (g. to k.) with every case
# through the redis backend (FL_BACKEND=redis): the sweep of dead callers
# (1,000 callers killed, and the server back at its key count), no
# runner, on_timeout = "retry", the backoff and runners killed, with the
# queue in a redis-server of the test's own.  Its sibling
# failure_redis.sh does the same for failure.sh.
exec env FL_BACKEND=redis bash "$(dirname "$0")/failure_pool.sh" "$@"
