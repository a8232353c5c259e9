#!/bin/bash
# install.sh: integration tests of dtask as it is installed.
#
#   1. make install into a DESTDIR (PREFIX=/usr/local): every file in its
#      place with its mode; the manual pages are gzip'd roff that groff
#      renders without a warning; the unit names the installed
#      dtask-runner; the completion is installed under both command names;
#   2. the installed commands print "NAME VERSION (commit HASH)" for
#      --version (and -V), the version from VERSION;
#   3. the installed demo runs from the DESTDIR tree alone: `dtask` from
#      PATH, which finds the installed shim by itself (../lib from the
#      command, no DTASK_SHIM), and LD_PRELOAD=libdtask_shim.so by bare
#      name, with the reports identical with and without dtask;
#   4. make uninstall removes every file that make install wrote (none
#      is left in the DESTDIR) and says so once per file;
#   5. bash completion (bash-completion's own helpers, as a shell loads
#      them): subcommands, options, -c completes *.toml files, and after
#      `--` the program's own arguments are left to it;
#   6. dtask-runner -u: an unknown user, and (not root) another user, are
#      refused with exit 2 and a message;
#   7. (root) the systemd unit's ExecStart line, with an instance's
#      environment file, run as systemd would: the pool runs as DTASK_USER
#      (a user created for the test), serves that user's caller, and stops
#      on the unit's KillSignal;
#   8. (root) the Debian package: make deb, apt-get install ./dtask_*.deb,
#      the installed demo from /usr/lib/TRIPLET/dtask/demo/run.sh (shim by
#      bare name from the loader's default path, dtask finding its LIBDIR),
#      man -w finds the three pages, then apt-get remove leaves none of the
#      package's files or directories.  A dtask package installed before
#      the test is never touched (a named skip).
# With SANITIZE=1 (make check-asan) the products are sanitizer builds,
# which no one installs: there 1, 2 and 4 run (the layout), and 8 checks
# that make deb refuses a sanitizer build.
#
# Environment: BUILD (default build); SANITIZE.  Needs groff and
# bash-completion (tools/deps.sh installs them).
# Output: "ok - ..." or "not ok - ..." per check, then "N passed, N
# failed, N skipped".  Exit status 1 if any check failed.
# shellcheck disable=SC2317  # cleanup runs from the EXIT trap
set -u

# shellcheck source=tests/integration/tap.bash
. "$(dirname "$0")/tap.bash"
# shellcheck source=tests/integration/runs.bash
. "$(dirname "$0")/runs.bash"

TOP=$PWD
VERSION=$(cat VERSION)
tmp=$(mktemp -d /tmp/dtask-install.XXXXXX)
chmod 755 "$tmp"
USR_CREATED=
POOL7=
cleanup() {
  [ -n "$POOL7" ] && kill -KILL "$POOL7" 2>/dev/null
  cd / && rm -rf "$tmp"
  if [ -n "$USR_CREATED" ]; then userdel "$USR_CREATED" 2>/dev/null; fi
}
trap cleanup EXIT
make_q() { make -s -C "$TOP" BUILD="$BUILD" SANITIZE="$SANITIZE" "$@"; }

# ======================================================================
# 1. make install into a DESTDIR.
# ======================================================================
D=$tmp/dest
P=$D/usr/local
make_q install DESTDIR="$D" PREFIX=/usr/local >"$tmp/install.out" 2>&1
check $? "1 make install DESTDIR=... PREFIX=/usr/local succeeds" "$tmp/install.out"
want="bin/dtask 755
bin/dtask-runner 755
lib/libdtask_shim.so 644
lib/libdtask_engine.so 644
lib/dtask/demo/run.sh 755
lib/dtask/demo/dtask.toml 644
lib/dtask/demo/reports 755
lib/dtask/demo/libreport.so 644
lib/dtask/demo/legacy 755
lib/dtask/demo/liblegacy.so 644
lib/systemd/system/dtask-runner@.service 644
share/man/man1/dtask.1.gz 644
share/man/man1/dtask-runner.1.gz 644
share/man/man5/dtask.toml.5.gz 644
share/doc/dtask/dtask.example.toml 644
share/doc/dtask/README.md 644
share/bash-completion/completions/dtask 644
share/bash-completion/completions/dtask-runner 644"
(cd "$P" && find . -type f -printf '%P %m\n' | sort) >"$tmp/got.files"
sort <<<"$want" >"$tmp/want.files"
diff "$tmp/want.files" "$tmp/got.files" >"$tmp/files.diff"
check $? "1 the installed files and their modes are exactly the expected 18" \
  "$tmp/files.diff"
[ "$(find "$D" -type f | wc -l)" = 18 ]
check $? "1 nothing is installed outside PREFIX"
bad=
for m in man1/dtask.1 man1/dtask-runner.1 man5/dtask.toml.5; do
  zcat "$P/share/man/$m.gz" >"$tmp/page" 2>>"$tmp/groff.err" &&
    cmp -s "$tmp/page" "$TOP/man/$(basename "$m")" &&
    groff -man -ww -z "$tmp/page" >>"$tmp/groff.err" 2>&1 &&
    [ ! -s "$tmp/groff.err" ] || bad="$bad $m"
done
[ -z "$bad" ]
check $? "1 the manual pages are the sources, gzip'd, and groff -ww renders them without a warning${bad:+ (not:$bad)}" \
  "$tmp/groff.err"
grep -qx "ExecStart=/usr/local/bin/dtask-runner -u \${DTASK_USER} -c \${DTASK_CONFIG} -w \${DTASK_WORKERS} -- \${DTASK_PROG}" \
  "$P/lib/systemd/system/dtask-runner@.service" &&
  ! grep -q @BINDIR@ "$P/lib/systemd/system/dtask-runner@.service"
check $? "1 the unit's ExecStart names the installed dtask-runner" \
  "$P/lib/systemd/system/dtask-runner@.service"
cmp -s "$P/share/bash-completion/completions/dtask" "$TOP/tools/dtask.bash-completion" &&
  cmp -s "$P/share/bash-completion/completions/dtask-runner" "$TOP/tools/dtask.bash-completion"
check $? "1 the completion is installed under both command names"

# ======================================================================
# 2. --version.
# ======================================================================
vre="^%s $(re "$VERSION") \(commit [0-9a-f]{12}(-dirty)?\)$"
bad=
for c in "dtask --version" "dtask -V" "dtask-runner --version" "dtask-runner -V"; do
  out=$(env -u DTASK_SHIM "$P/bin/"$c 2>&1)
  # shellcheck disable=SC2059
  [[ $out =~ $(printf "$vre" "${c%% *}") ]] || bad="$bad [$c: $out]"
done
[ -z "$bad" ]
check $? "2 --version and -V print NAME $VERSION (commit HASH)${bad:+:$bad}"

# ======================================================================
# 3. the installed demo, from the DESTDIR tree alone.
# ======================================================================
if [ "$SANITIZE" = 1 ]; then
  echo "# 3 and 5-7 are left out of the sanitizer build (its products are" \
    "not what anyone installs; make check runs them)"
else
  mkdir "$tmp/cwd3"
  (cd "$tmp/cwd3" && env -u DTASK_SHIM -u DTASK_CONFIG -u LD_PRELOAD \
    PATH="$P/bin:/usr/bin:/bin" LD_LIBRARY_PATH="$P/lib" \
    timeout 120 bash "$P/lib/dtask/demo/run.sh") >"$tmp/demo3.out" 2>&1
  st=$?
  [ "$st" = 0 ] && has "$tmp/demo3.out" "report lines: identical in all three runs (15 each)" &&
    has "$tmp/demo3.out" "lookup lines: identical with and without dtask" &&
    grep -qE '^dtask: [0-9]+ calls offloaded' "$tmp/demo3.out"
  check $? "3 the installed demo runs from the DESTDIR alone (exit $st): dtask finds ../lib/libdtask_shim.so, LD_PRELOAD by bare name" \
    "$tmp/demo3.out"
fi

# ======================================================================
# 4. make uninstall.
# ======================================================================
make_q uninstall DESTDIR="$D" PREFIX=/usr/local >"$tmp/uninstall.out" 2>&1
st=$?
left=$(find "$D" -type f | wc -l)
[ "$st" = 0 ] && [ "$left" = 0 ] &&
  [ "$(grep -c '^removed ' "$tmp/uninstall.out")" = 18 ] &&
  [ ! -e "$P/share/doc/dtask" ] && [ ! -e "$P/lib/dtask" ]
check $? "4 make uninstall removes the 18 files and dtask's own directories ($left files left)" \
  "$tmp/uninstall.out"

if [ "$SANITIZE" != 1 ]; then
# ======================================================================
# 5. bash completion.
# ======================================================================
BC=/usr/share/bash-completion/bash_completion
if [ ! -f "$BC" ]; then
  not_ok "5 $BC exists (package bash-completion; tools/deps.sh installs it)"
else
  mkdir -p "$tmp/c5/sub" && : >"$tmp/c5/a.toml" && : >"$tmp/c5/b.txt"
  # comp WORD...: the completions of the last word of the command line.
  comp() {
    (cd "$tmp/c5" && bash --norc -c '
      . "$1"; . "$2"; shift 2
      COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
      COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
      case $1 in dtask) _dtask ;; dtask-runner) _dtask_runner ;; esac
      printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
      _ "$BC" "$TOP/tools/dtask.bash-completion" "$@" 2>&1)
  }
  got1=$(comp dtask "")
  got2=$(comp dtask-runner -)
  got3=$(comp dtask run -c "")
  got4=$(comp dtask check "")
  got5=$(comp dtask sig -)
  [ "$got1" = "--help --version -V check help run sig status top " ] &&
    [ "$got5" = "--binary --help -D -I -h " ] &&
    [[ " $got2" == *" -u "* && " $got2" == *" --version "* && " $got2" == *" -- "* ]] &&
    [ "$got3" = "a.toml sub " ] && [ "$got4" = "a.toml sub " ]
  check $? "5 completion: dtask [$got1], dtask-runner - [$got2], dtask run -c [$got3], dtask check [$got4], dtask sig - [$got5]"
fi

# ======================================================================
# 6. dtask-runner -u refusals.
# ======================================================================
"$BUILD/dtask-runner" -u no-such-user-dtask -c "$TOP/demo/dtask.toml" -- true \
  >"$tmp/u6.out" 2>&1
st=$?
[ "$st" = 2 ] && has "$tmp/u6.out" "dtask-runner: -u no-such-user-dtask: no such user in the password database"
check $? "6 dtask-runner -u with an unknown user: exit $st (want 2), a message" "$tmp/u6.out"
if [ "$(id -u)" != 0 ]; then
  "$BUILD/dtask-runner" -u root -c "$TOP/demo/dtask.toml" -- true >"$tmp/u6b.out" 2>&1
  st=$?
  [ "$st" = 2 ] && has "$tmp/u6b.out" "only root can run a pool as another user"
  check $? "6 dtask-runner -u root, not as root: exit $st (want 2), a message" "$tmp/u6b.out"
fi
fi # SANITIZE != 1

# ======================================================================
# 7. the systemd unit's command line, as systemd runs it.
# ======================================================================
unit_case() {
  local u=dtask-unit-test
  if ! id "$u" >/dev/null 2>&1; then
    useradd -M -r -s /usr/sbin/nologin "$u" 2>"$tmp/useradd.err" ||
      { not_ok "7 useradd $u (package passwd; tools/deps.sh installs it)" "$tmp/useradd.err"; return; }
    USR_CREATED=$u
  fi
  local uid gid
  uid=$(id -u "$u")
  gid=$(id -g "$u")
  # The instance: a config only that user's queue directory is named in,
  # the demo program, 2 workers.
  mkdir -p "$tmp/etc" "$tmp/q7"
  chown "$u" "$tmp/q7"
  cat >"$tmp/etc/r7.toml" <<EOF
[queue]
path = "$tmp/q7/queue"
[runner]
autostart = false
[types]
report = { size = 48, align = 8 }
[[offload]]
signature = "int build_report(cstring period, out report r[1])"
EOF
  chmod 644 "$tmp/etc/r7.toml"
  printf 'DTASK_USER=%s\nDTASK_CONFIG=%s\nDTASK_PROG=%s\nDTASK_WORKERS=2\n' \
    "$u" "$tmp/etc/r7.toml" "$BUILD/demo/reports" >"$tmp/etc/r7.env"
  # ExecStart with @BINDIR@ and the environment file filled in, split
  # into words as systemd does (no shell).
  local line
  line=$(sed -n 's/^ExecStart=//p' "$TOP/tools/dtask-runner@.service" |
    sed "s|@BINDIR@|$BUILD|")
  # shellcheck disable=SC1090
  line=$(set -a && . "$tmp/etc/r7.env" && eval "printf '%s' \"$line\"")
  local -a argv
  read -r -a argv <<<"$line"
  "${argv[@]}" >"$tmp/pool7.out" 2>&1 &
  POOL7=$!
  # The pool is up when its supervisor has workers (children) of u.
  local i=0 users
  while [ $i -lt 100 ]; do
    users=$(ps -o user= --ppid "$POOL7" 2>/dev/null | sort -u | tr '\n' ' ')
    [ -n "$users" ] && break
    sleep 0.1
    i=$((i + 1))
  done
  [ "$(ps -o user= -p "$POOL7" | tr -d ' ')" = "$u" ] && [ "$users" = "$u " ]
  check $? "7 the unit's ExecStart ($line) runs the pool and its workers as DTASK_USER ($u; supervisor $(ps -o user= -p "$POOL7" | tr -d ' '), workers: $users)" \
    "$tmp/pool7.out"
  (cd "$tmp" && setpriv --reuid="$uid" --regid="$gid" --init-groups \
    env -u DTASK_SHIM DTASK_CONFIG="$tmp/etc/r7.toml" DTASK_LOG=info \
    LD_PRELOAD="$BUILD/libdtask_shim.so" timeout 60 "$BUILD/demo/reports") \
    >"$tmp/c7.out" 2>"$tmp/c7.err"
  st=$?
  "$BUILD/demo/reports" >"$tmp/c7.plain" 2>/dev/null
  [ "$st" = 0 ] && [ "$(grep '^report' "$tmp/c7.out")" = "$(grep '^report' "$tmp/c7.plain")" ] &&
    ! grep -q "inline" "$tmp/c7.err"
  check $? "7 a caller of that user is served by the pool (exit $st, reports as without dtask, nothing inline)" \
    "$tmp/c7.out" "$tmp/c7.err" "$tmp/pool7.out"
  kill -TERM "$POOL7"
  local t0
  t0=$(date +%s)
  wait "$POOL7"
  st=$?
  POOL7=
  [ "$st" = 0 ] || [ "$st" = 143 ]
  check $? "7 SIGTERM (the unit's KillSignal) stops the pool in $(($(date +%s) - t0)) s (exit $st)" \
    "$tmp/pool7.out"
}
if [ "$SANITIZE" != 1 ]; then
  if [ "$(id -u)" = 0 ]; then
    unit_case
  else
    skip "7 the systemd unit's command line" "needs root, to create a user and run a pool as that user"
  fi
fi

# ======================================================================
# 8. the Debian package.
# ======================================================================
deb_case() {
  if dpkg-query -W -f='${Status}' dtask 2>/dev/null | grep -q 'ok installed'; then
    skip "8 the Debian package" "a dtask package is installed on this machine already; the test does not replace it"
    return
  fi
  make_q deb >"$tmp/deb.out" 2>&1
  local deb
  deb=$(ls "$BUILD"/dtask_"$VERSION"_*.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] && dpkg-deb -I "$deb" >"$tmp/deb.info" 2>&1 &&
    grep -qE '^ Depends: libc6 \(>= 2\.[0-9]+\), libffi8, liblmdb0, libhiredis0\.14$' "$tmp/deb.info" &&
    grep -qx ' Suggests: libclang1-14, libdw1' "$tmp/deb.info"
  check $? "8 make deb builds ${deb:-no package}, with its dependencies declared" \
    "$tmp/deb.out" "$tmp/deb.info"
  [ -n "$deb" ] || return
  dpkg-deb -c "$deb" | awk '{ print substr($6, 2) }' | sed 's|/$||' >"$tmp/deb.paths"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "$deb" >"$tmp/apt-in.out" 2>&1
  check $? "8 apt-get install ./$(basename "$deb")" "$tmp/apt-in.out"
  local multi
  multi=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || cc -print-multiarch)
  mkdir "$tmp/cwd8"
  (cd "$tmp/cwd8" && env -i PATH=/usr/bin:/bin HOME="$tmp" USER=root \
    timeout 120 bash "/usr/lib/$multi/dtask/demo/run.sh") >"$tmp/demo8.out" 2>&1
  st=$?
  [ "$st" = 0 ] && has "$tmp/demo8.out" "report lines: identical in all three runs (15 each)" &&
    grep -qE '^dtask: [0-9]+ calls offloaded' "$tmp/demo8.out"
  check $? "8 the installed demo runs from the package's paths alone (exit $st)" "$tmp/demo8.out"
  [[ $(dtask --version) =~ ^dtask\ $(re "$VERSION")\  ]]
  check $? "8 dtask --version from /usr/bin: $(dtask --version 2>&1)"
  if command -v man >/dev/null; then
    man -w dtask dtask-runner dtask.toml >"$tmp/manw.out" 2>&1 &&
      [ "$(wc -l <"$tmp/manw.out")" = 3 ]
    check $? "8 man finds dtask(1), dtask-runner(1) and dtask.toml(5)" "$tmp/manw.out"
  else
    not_ok "8 man is installed (package man-db; tools/deps.sh installs it)"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -q dtask >"$tmp/apt-rm.out" 2>&1
  st=$?
  local left=()
  local p
  while read -r p; do
    [ -z "$p" ] && continue
    if [ -f "/$p" ] || [ -L "/$p" ]; then left+=("/$p"); fi
  done <"$tmp/deb.paths"
  for p in "/usr/share/doc/dtask" "/usr/lib/$multi/dtask"; do
    [ -e "$p" ] && left+=("$p")
  done
  [ "$st" = 0 ] && [ ${#left[@]} = 0 ] &&
    ! dpkg-query -W -f='${Status}' dtask 2>/dev/null | grep -q 'installed'
  check $? "8 apt-get remove dtask leaves none of its $(wc -l <"$tmp/deb.paths") paths behind${left:+ (left: ${left[*]})}" \
    "$tmp/apt-rm.out"
}
if [ "$SANITIZE" = 1 ]; then
  make -s -C "$TOP" SANITIZE=1 deb >"$tmp/deb.out" 2>&1
  st=$?
  [ "$st" != 0 ] && has "$tmp/deb.out" "make deb: a package is never built with sanitizers"
  check $? "8 make deb SANITIZE=1 refuses (exit $st)" "$tmp/deb.out"
elif [ "$(id -u)" = 0 ]; then
  deb_case
else
  skip "8 the Debian package" "needs root, to install and remove it with apt-get"
fi

finish
