# asanfx.bash: how the integration scripts start callers and runners
# when the shim is built with AddressSanitizer (make check-asan).  Sets
# SANITIZE (0 or 1; read from the shim's NEEDED entries unless given),
# PRELOAD (what a caller started here with a raw LD_PRELOAD preloads: the
# ASan runtime before the shim), CALLER_ENV and LAUNCH_ENV (the
# environment of callers and of dtask run and dtask-runner: dtask puts
# the shim first in what it starts, so the runtime comes second and
# verify_asan_link_order=0 is needed), with no leak check at exit and
# ASan's own SIGSEGV, SIGBUS and SIGFPE handlers off, so that a crash
# reaches dtask's supervisor as it does without ASan.  With
# ASAN_HANDLERS=asan set before sourcing, ASan's handlers stay on: the
# scripts that had their own copy of this set-up ran that way, and still
# do.  Sourced after tap.bash, with SHIM set (named .bash, so
# tests/run.sh does not run it).

if [ -z "${SANITIZE:-}" ]; then
  SANITIZE=0
  readelf -d "$SHIM" 2>/dev/null | grep -q 'NEEDED.*libasan' && SANITIZE=1
fi
NO_SIG_HANDLERS=handle_segv=0:handle_sigbus=0:handle_sigfpe=0
asan_sig=:$NO_SIG_HANDLERS
[ "${ASAN_HANDLERS:-}" = asan ] && asan_sig=
PRELOAD=$SHIM # for callers started here with a raw LD_PRELOAD
CALLER_ENV=()
LAUNCH_ENV=() # for dtask-runner
if [ "$SANITIZE" = 1 ]; then
  asan=$(${CC:-cc} -print-file-name=libasan.so)
  if [ ! -f "$asan" ]; then
    not_ok "the ASan runtime is found (${CC:-cc} -print-file-name=libasan.so)"
    finish
  fi
  PRELOAD="$asan $SHIM"
  CALLER_ENV=("ASAN_OPTIONS=detect_leaks=0$asan_sig")
  LAUNCH_ENV=("LD_PRELOAD=$asan"
              "ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0$asan_sig")
fi
