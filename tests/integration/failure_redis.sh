#!/bin/bash
# failure_redis.sh: failure.sh (a. to f.) with every case through the
# redis backend (FL_BACKEND=redis): the failure policies of a call and
# the leases, with the queue in a redis-server of the test's own.  Its
# sibling failure_pool_redis.sh does the same for failure_pool.sh.
exec env FL_BACKEND=redis bash "$(dirname "$0")/failure.sh" "$@"
