#!/bin/bash
# trust_dir.sh: integration tests of the queue directory's trust
# (queue/qdir.c) and of the bounded autostart lock (shim/autostart.c),
# issue 21 items 2 and 7, with a second user as the attacker.
#
#   1. [queue] path through a link that another user planted in a sticky
#      world-writable directory (as /dev/shm is): refused, the message
#      names the link, its owner and what to do; the calls run inline
#      and are right; nothing is created in the attacker's tree.
#      Control: the same link owned by the victim is followed.
#   2. a queue directory another user created before the victim: refused
#      with its owner and "rm -rf"; nothing is created inside; calls
#      inline and right.
#   3. a link in place of bell, data.mdb, lock.mdb (the caller) and
#      runner.log (autostart): refused, naming the file; the attacker's
#      world-writable file behind it is untouched; calls right.
#   4. a data.mdb that others can write: refused; removing it (as the
#      message says) lets the queue open.
#   5. the race: the attacker's loop flips a link (a parent of the queue
#      directory) between the victim's own tree and the attacker's while
#      the victim opens its queue 300 times (the queue tool): no open
#      succeeds through the link and the attacker's tree, with its
#      world-writable bell and data.mdb, is untouched.
#   6. autostart.lock held by another process of the same user (flock
#      ... sleep 30): a caller with wait_for_runner = "1s" falls back to
#      inline within its budget (not after 30 s), its calls right, and
#      says why.
#   7. the session is not lost: a program whose queue directory was
#      refused (made first by the other user) gets offload back, without
#      a restart, once root removes that directory as the message says.
#
# Needs root (it creates the attacker with useradd, and removes it after
# if it did); not root is a named skip of the whole script, which CI's
# DTASK_NO_SKIP=1 makes a failure.  fs.protected_symlinks
# is set to 0 for the test, where the kernel lets it, and restored.
#
# Environment: BUILD (default build); SANITIZE=1 when built with
# ASan/UBSan (the ASan runtime is preloaded before the shim).
# Output: "ok - ..." or "not ok - ..." per check (details indented), then
# "N passed, N failed, N skipped".  Exit status 1 if any check failed.
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

SHIM=$BUILD/libdtask_shim.so
OL=$BUILD/fixtures/offload
QTOOL=$BUILD/fixtures/qtool
need_built "the shim and the fixtures are built" "make all" \
  "$SHIM" "$OL/olprog" "$OL/ol.toml" "$QTOOL"
if [ "$(id -u)" != 0 ]; then
  skip "trust_dir.sh: a second user's attacks on the queue directory" \
    "needs root, to create that user"
  finish
fi

# ASan's own signal handlers stay on, as they always have here.
ASAN_HANDLERS=asan
# shellcheck source=tests/integration/asanfx.bash
. "$(dirname "$0")/asanfx.bash"
CLEAN=("${CLEAN_DTASK[@]}" -u QTOOL_PROG)

ATK=dtask-atk
ATK_CREATED=""
PS_SAVED=""
BG=()
scratch_dir trust /dev/shm
# The public directory: root's, sticky and world-writable, as /dev/shm.
pub=$(mktemp -d /dev/shm/dtask-trust-pub.XXXXXX) || exit 1
chmod 1777 "$pub"
cleanup() {
  local p
  for p in "${BG[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  if [ -n "$PS_SAVED" ]; then
    echo "$PS_SAVED" >/proc/sys/fs/protected_symlinks 2>/dev/null
  fi
  cd / && rm -rf "$root" "$pub"
  if [ -n "$ATK_CREATED" ]; then userdel "$ATK" 2>/dev/null; fi
}
trap cleanup EXIT

if ! id "$ATK" >/dev/null 2>&1; then
  if useradd -M -r -s /bin/sh "$ATK" 2>"$root/useradd.err"; then
    ATK_CREATED=1
  else
    not_ok "useradd $ATK (package passwd; tools/deps.sh installs it)" \
      "$root/useradd.err"
    finish
  fi
fi
# Numeric ids, looked up once: each run as the attacker is then no
# lookup in the password database (which another test's useradd or
# userdel may be rewriting at that moment).
AUID=$(id -u "$ATK")
AGID=$(id -g "$ATK")
# as_atk CMD...: runs CMD as the attacker.
as_atk() { setpriv --reuid="$AUID" --regid="$AGID" --clear-groups "$@"; }

ps_now=$(cat /proc/sys/fs/protected_symlinks 2>/dev/null)
if [ -n "$ps_now" ] && [ "$ps_now" != 0 ]; then
  if echo 0 >/proc/sys/fs/protected_symlinks 2>/dev/null; then
    PS_SAVED=$ps_now
    echo "# fs.protected_symlinks set to 0 for this test (was $ps_now)"
  else
    echo "# fs.protected_symlinks is $ps_now and cannot be changed here; the" \
      "links are refused by dtask's own walk either way"
  fi
fi

# The attacker's tree: world-writable, with a world-writable bell,
# data.mdb and log for the victim to use.
atk=$pub/atk-tree
as_atk mkdir -m 777 "$atk"
for f in bell data.mdb lock.mdb runner.log; do
  as_atk sh -c "umask 0; : >'$atk/$f'"
done
# snapshot: what the attacker's tree holds, for "untouched" checks.
snapshot() { (cd "$atk" && find . -printf '%p %s %T@ %U\n' | sort); }
SNAP0=$(snapshot)
untouched() { [ "$(snapshot)" = "$SNAP0" ]; }

# mkcfg NAME QPATH [RUNNER-LINES...]: $root/NAME.toml, ol.toml plus a
# [queue] at QPATH and a [runner] (default: autostart = false) and a
# [defaults] wait_for_runner of 1 s; prints its path.
mkcfg() {
  local name=$1 q=$2
  shift 2
  {
    cat "$OL/ol.toml"
    printf '\n[queue]\npath = "%s"\nmap_size = "64MiB"\n\n[runner]\n' "$q"
    if [ $# -eq 0 ]; then echo 'autostart = false'; else printf '%s\n' "$@"; fi
    printf '\n[defaults]\nwait_for_runner = "1s"\n'
  } >"$root/$name.toml"
  echo "$root/$name.toml"
}
# caller (runs.bash) is timed here: OUT.ms too.
CALLER_TIMED=1
# imgdir CONFIG: olprog's queue directory under CONFIG (PATH/IMAGE),
# created 0700 with its parents.
imgdir() {
  local d
  d=$(env "${CLEAN[@]}" QTOOL_PROG="$OL/olprog" "$QTOOL" "$1" dir) || return 1
  mkdir -p -m 700 "$d" && chmod 700 "$(dirname "$d")" && echo "$d"
}
right_inline() { rc_is "$1" 0 && has "$1.out" "ol_add(2, 3) = 5" "basic: 3 calls, 0 wrong, offloaded=no"; }

# ======================================================================
# 1. A link of another user in place of the queue directory.
# ======================================================================
as_atk ln -s "$atk" "$pub/dtask-v1"
C1=$(mkcfg c1 "$pub/dtask-v1/default")
caller "$root/c1" "$C1" -- "$OL/olprog" basic
has "$root/c1.err" "$pub/dtask-v1 is a symbolic link of another user (uid $AUID)" \
  "set [queue] path to a directory you own" "calls run inline in olprog"
check $? "1 a queue path through another user's link is refused, naming the link, its owner and what to do" "$root/c1.err"
right_inline "$root/c1"
check $? "1 the calls still run, inline, with right results" "$root/c1.out" "$root/c1.err"
[ ! -e "$atk/default" ] && untouched
check $? "1 nothing is created or touched in the attacker's tree" "$root/c1.err"
# Control: the victim's own link to the victim's own directory is followed.
mkdir -m 700 "$root/own"
ln -s "$root/own" "$pub/dtask-v1own"
C1B=$(mkcfg c1b "$pub/dtask-v1own/default")
caller "$root/c1b" "$C1B" -- "$OL/olprog" basic
! grep -q "symbolic link" "$root/c1b.err" && [ -n "$(ls "$root/own/default" 2>/dev/null)" ] &&
  [ -e "$(ls -d "$root"/own/default/*/ | head -n 1)/data.mdb" ]
check $? "1 control: the victim's own link is followed and the queue is made behind it" \
  "$root/c1b.err"

# ======================================================================
# 2. A queue directory another user created first.
# ======================================================================
as_atk mkdir -m 777 "$pub/dtask-v2"
C2=$(mkcfg c2 "$pub/dtask-v2/default")
caller "$root/c2" "$C2" -- "$OL/olprog" basic
has "$root/c2.err" "lies under $pub/dtask-v2, which belongs to another user (uid $AUID)" \
  "rm -rf $pub/dtask-v2" "set [queue] path to a directory you own"
check $? "2 a directory another user made first (above the queue, as /dev/shm/dtask-\$USER for the default path) is refused, with its owner and what to do" "$root/c2.err"
right_inline "$root/c2" && [ -z "$(ls -A "$pub/dtask-v2")" ]
check $? "2 the calls run inline and right, and nothing is created inside" "$root/c2.out" "$root/c2.err"
[ "$(grep -c "belongs to another user" "$root/c2.err")" = 1 ]
check $? "2 the reason is said once, not once per call" "$root/c2.err"
# The queue directory itself made by the other user.
C2B=$(mkcfg c2b "$pub/dtask-v2")
caller "$root/c2b" "$C2B" -- "$OL/olprog" basic
has "$root/c2b.err" "queue directory $pub/dtask-v2 belongs to uid $AUID, not to you (uid 0)" \
  "rm -rf $pub/dtask-v2" "set [queue] path to a directory you own" &&
  right_inline "$root/c2b" && [ -z "$(ls -A "$pub/dtask-v2")" ]
check $? "2 the queue directory itself made by another user is refused likewise; calls inline and right" \
  "$root/c2b.err" "$root/c2b.out"

# ======================================================================
# 3. A link in place of a queue file.
# ======================================================================
n=0
for f in bell data.mdb lock.mdb; do
  n=$((n + 1))
  C3=$(mkcfg "c3$n" "$root/c3$n/q")
  q=$(imgdir "$C3")
  ln -s "$atk/$f" "$q/$f"
  caller "$root/c3$n" "$C3" -- "$OL/olprog" basic
  has "$root/c3$n.err" "$q/$f is a symbolic link" "rm $q/$f" &&
    right_inline "$root/c3$n" && untouched
  check $? "3 a link in place of $f is refused, naming it; calls inline and right; the attacker's $f untouched" \
    "$root/c3$n.err" "$root/c3$n.out"
done
# runner.log: the queue opens; autostart refuses to log through the link.
C34=$(mkcfg c34 "$root/c34/q" 'autostart = true' 'workers = 1' 'idle_exit = "2s"')
q=$(imgdir "$C34")
ln -s "$atk/runner.log" "$q/runner.log"
caller "$root/c34" "$C34" -- "$OL/olprog" basic
has "$root/c34.err" "$q/runner.log is a symbolic link" &&
  right_inline "$root/c34" && untouched
check $? "3 a link in place of runner.log: autostart refuses it, naming it; calls inline and right; the attacker's log untouched" \
  "$root/c34.err" "$root/c34.out"

# ======================================================================
# 4. A data.mdb that others can write.
# ======================================================================
q=$root/c4/q
mkdir -p -m 700 "$q"
C4=$(mkcfg c4 "$q")
(umask 0 && : >"$q/data.mdb")
env "${CLEAN[@]}" "$QTOOL" "$C4" counts >"$root/c4.out" 2>"$root/c4.err"
rc4=$?
[ "$rc4" = 2 ] && has "$root/c4.err" "$q/data.mdb is writable by others" "rm -f $q/data.mdb"
check $? "4 a world-writable data.mdb is refused (exit $rc4), saying to remove it" "$root/c4.err"
rm -f "$q/data.mdb"
env "${CLEAN[@]}" "$QTOOL" "$C4" counts >"$root/c4b.out" 2>"$root/c4b.err" &&
  [ "$(stat -c %a "$q/data.mdb")" = 600 ]
check $? "4 once removed as the message says, the queue opens and makes data.mdb 0600" "$root/c4b.err"

# ======================================================================
# 5. The race: a link flipped between the victim's directory and the
#    attacker's tree while the victim opens its queue.
# ======================================================================
# The link is a parent of the queue directory, as in the issue: an
# earlier check that followed it could pass on the victim's q and the
# open land in the attacker's (with its world-writable files).
mkdir -p -m 700 "$root/vq/q"
as_atk mkdir -m 777 "$pub/atk-race" "$pub/atk-race/q"
for f in bell data.mdb lock.mdb; do
  as_atk sh -c "umask 0; : >'$pub/atk-race/q/$f'"
done
RACE0=$(cd "$pub/atk-race" && find . -printf '%p %s %T@ %U\n' | sort)
C5=$(mkcfg c5 "$pub/dtask-race/q")
as_atk ln -s "$root/vq" "$pub/dtask-race"
# (setpriv execs the loop's shell: $! is the loop itself.)
setpriv --reuid="$AUID" --regid="$AGID" --clear-groups sh -c "i=0; while :; do
  ln -sfn '$pub/atk-race' '$pub/.r1' && mv -Tf '$pub/.r1' '$pub/dtask-race'
  ln -sfn '$root/vq' '$pub/.r2' && mv -Tf '$pub/.r2' '$pub/dtask-race'
  i=\$((i + 1)); echo \$i >'$pub/.flips'
done" >/dev/null 2>&1 &
BG+=($!)
ok5=0
refused5=0
for i in $(seq 300); do
  env "${CLEAN[@]}" "$QTOOL" "$C5" counts >/dev/null 2>"$root/c5.err"
  case $? in
  0) ok5=$((ok5 + 1)) ;;
  2) grep -q "symbolic link of another user" "$root/c5.err" && refused5=$((refused5 + 1)) ;;
  esac
done
kill -KILL "${BG[-1]}" 2>/dev/null
wait "${BG[-1]}" 2>/dev/null
flips=$(cat "$pub/.flips" 2>/dev/null || echo 0)
[ "$flips" -gt 10 ]
check $? "5 the attacker's loop flipped the link while the victim opened ($flips flips)"
[ "$ok5" = 0 ] && [ "$refused5" = 300 ] && [ -z "$(ls -A "$root/vq/q")" ] &&
  [ "$(cd "$pub/atk-race" && find . -printf '%p %s %T@ %U\n' | sort)" = "$RACE0" ]
check $? "5 of 300 opens through the flipping link none used the attacker's tree (opened: $ok5, refused with the message: $refused5)" \
  "$root/c5.err"

# ======================================================================
# 6. autostart.lock held by another process of the same user.
# ======================================================================
C6=$(mkcfg c6 "$root/c6/q" 'autostart = true' 'workers = 1' 'idle_exit = "2s"')
q=$(imgdir "$C6")
(umask 077 && : >"$q/autostart.lock")
flock -o "$q/autostart.lock" sleep 30 &
BG+=($!)
holder=$!
sleep 0.2
caller "$root/c6" "$C6" -- "$OL/olprog" basic
ms=$(cat "$root/c6.ms")
right_inline "$root/c6" && [ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] &&
  kill -0 "$holder" 2>/dev/null
check $? "6 with autostart.lock held (flock ... sleep 30), the caller falls back within its wait_for_runner of 1s (took $ms ms), calls right" \
  "$root/c6.out" "$root/c6.err"
has "$root/c6.err" "held $q/autostart.lock for 1s" "calling ol_add inline"
check $? "6 it says that the autostart lock is held, and what it does" "$root/c6.err"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
# Control: once the lock is free, autostart serves the calls.
caller "$root/c6b" "$C6" -- "$OL/olprog" basic
rc_is "$root/c6b" 0 && has "$root/c6b.out" "basic: 3 calls, 0 wrong, offloaded=yes"
check $? "6 control: with the lock free, the pool is autostarted and serves" \
  "$root/c6b.out" "$root/c6b.err"
# The autostarted pool exits when idle (idle_exit 2s); wait for it.
for i in $(seq 100); do
  fuser "$q/runner.lock" >/dev/null 2>&1 || break
  sleep 0.1
done

# ======================================================================
# 7. Offload comes back in the same session once the directory is fixed.
# ======================================================================
as_atk mkdir -m 755 "$pub/dtask-v7"
C7=$(mkcfg c7 "$pub/dtask-v7/default" 'autostart = true' 'workers = 1' 'idle_exit = "2s"')
timeout 60 env "${CLEAN[@]}" "${CALLER_ENV[@]}" DTASK_CONFIG="$C7" \
  LD_PRELOAD="$PRELOAD" "$OL/olprog" spaced 9 1000 >"$root/c7.out" 2>"$root/c7.err" &
p7=$!
sleep 1.5
rm -rf "$pub/dtask-v7"
wait "$p7"
rc7=$?
[ "$rc7" = 0 ] && has "$root/c7.out" "call 1: offloaded=no" "call 2: offloaded=no" \
  "call 9: offloaded=yes" && [ "$(grep -c "belongs to another user" "$root/c7.err")" = 1 ]
check $? "7 refused at first (said once), the program's calls are offloaded again once the directory is removed" \
  "$root/c7.out" "$root/c7.err"
for i in $(seq 100); do
  fuser "$pub"/dtask-v7/default/*/runner.lock >/dev/null 2>&1 || break
  sleep 0.1
done

finish
