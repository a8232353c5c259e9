#!/bin/bash
# deb.sh ROOT OUT: packs the staging root ROOT (what `make install
# DESTDIR=ROOT PREFIX=/usr` wrote) into the Debian package OUT, with
# dpkg-deb.  Called by `make deb`, which sets VERSION and ARCH.
#
# It adds what a Debian package carries besides the files: DEBIAN/control
# (dependencies on the runtime libraries the binaries link: libffi8,
# liblmdb0, libhiredis0.14, and the C library), DEBIAN/md5sums, and
# /usr/share/doc/dtask/copyright.  No maintainer scripts: the shim sits
# in the multiarch library directory, which the dynamic loader searches
# without its cache, and the systemd unit is a template that nothing
# enables.  So `apt remove dtask` (or dpkg -r) removes every file, and
# dpkg removes the directories it created that are left empty.
set -euo pipefail
root=$1 out=$2
: "${VERSION:?}" "${ARCH:?}"
[ -x "$root/usr/bin/dtask" ] || {
  echo "deb.sh: $root/usr/bin/dtask is missing; run make deb" >&2
  exit 1
}

# The C library version the binaries need: the highest GLIBC_x.y symbol
# version they reference.
glibc=$(objdump -T "$root"/usr/bin/dtask "$root"/usr/bin/dtask-runner \
  "$root"/usr/lib/*/libdtask_*.so 2>/dev/null |
  grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)

doc=$root/usr/share/doc/dtask
mkdir -p "$doc" "$root/DEBIAN"
cat >"$doc/copyright" <<'TXT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: dtask
Comment: dtask is built from its own sources only; it bundles no third-
 party code.  Its runtime dependencies (libffi, LMDB, hiredis, the C
 library) come from Debian's packages.

Files: *
Copyright: the dtask authors
License: unstated
 The authors have not yet chosen a license for dtask.
TXT
chmod 0644 "$doc/copyright"

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<TXT
Package: dtask
Version: $VERSION
Architecture: $ARCH
Maintainer: dtask developers <dtask@localhost>
Installed-Size: $size
Depends: libc6 (>= $glibc), libffi8, liblmdb0, libhiredis0.14
Suggests: libclang1-14, libdw1
Section: devel
Priority: optional
Description: offload functions of unmodified programs to runner processes
 dtask is an LD_PRELOAD shim: a TOML file lists the functions of a
 dynamically linked program to offload, with their signatures, and each
 call is marshalled into a queue (LMDB, or Redis Streams for many hosts)
 and run by a pool of runner processes of the same program image.  The
 caller gets the return value, out-parameters and errno as if the call
 had been local.
 .
 This package holds the dtask and dtask-runner commands, the shim
 (libdtask_shim.so, by name in LD_PRELOAD), their manual pages, an
 example config, a systemd unit template for runner pools, bash
 completion and the demo (/usr/lib/<triplet>/dtask/demo/run.sh).
TXT
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
  sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "built $out"
