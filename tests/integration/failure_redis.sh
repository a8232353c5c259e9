#!/bin/bash
# failure_redis.sh: failure.sh with every case through the redis backend
# (FL_BACKEND=redis): the failure policies, leases, the sweep of dead
# callers (1,000 callers killed, and the server back at its key count)
# and runners killed, with the queue in a redis-server of the test's own.
exec env FL_BACKEND=redis bash "$(dirname "$0")/failure.sh" "$@"
