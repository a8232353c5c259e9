# dtask: one Makefile for the shim, the commands, the tests and the bench.
#
# Targets:
#   all (default)  the shim, dtask and the test fixtures, in $(BUILD)
#   check          the whole test suite (unit tests, then integration tests)
#   check-asan     the same suite built with ASan + UBSan (= make check SANITIZE=1)
#   demo           build everything and run the demo (demo/run.sh)
#   bench          the benchmark suite (QUICK=1 for a smoke run)
#   install        into $(DESTDIR)$(PREFIX); uninstall removes exactly that
#   fuzz           libFuzzer harnesses, FUZZ_TIME seconds each (tests/fuzz/fuzz.mk)
#   deb            a Debian package, $(BUILD)/dtask_VERSION_ARCH.deb
#   clean, deps

# ---------------------------------------------------------------- variables
# Local overrides go in config.mak (not tracked) or on the command line.

# Where `make install` puts things.  The commands look for the shim in
# LIBDIR (after beside themselves), so LIBDIR is built into them.
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/dtask
UNITDIR    ?= $(PREFIX)/lib/systemd/system
COMPDIR    ?= $(PREFIX)/share/bash-completion/completions
DEMODIR    ?= $(LIBDIR)/dtask/demo
# The compiler and the flags a user may change.
CC         ?= cc
OPT        ?= -O2 -g
# 1 builds everything with AddressSanitizer and UndefinedBehaviorSanitizer,
# in its own directory so that both builds can coexist.
SANITIZE   ?= 0
# 1 makes `make bench` a short smoke run (never asserted on).
QUICK      ?= 0
# 0 stops `make` from installing missing Debian packages by itself.
AUTO_DEPS  ?= 1

-include config.mak

ifeq ($(SANITIZE),1)
BUILD      ?= build-asan
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD      ?= build
SAN_FLAGS  :=
endif

# What --version prints: VERSION, and the commit (git's, "-dirty" with
# uncommitted changes; COMMIT=... when building outside a git checkout).
VERSION    := $(shell cat VERSION)
COMMIT     ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)

# Flags every file is built with; these are not meant to be overridden.
# Headers are named by their folder ("config/sig.h"), from the top;
# $(BUILD)/gen holds the generated buildinfo.h.
WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(SAN_FLAGS) -fPIC -I. -I$(BUILD)/gen
# Product objects: the shim exports only what it interposes, and the
# commands link the same objects.
SHIM_CFLAGS := $(BASE_CFLAGS) -fvisibility=hidden
# libhiredis is not linked: queue/hiredis.c loads it when a queue first
# needs Redis (the tests that talk to a server themselves link it).
LIBS       := -lffi -llmdb -ldl -pthread
TEST_LIBS  := -lcmocka $(LIBS) -lhiredis -lm

# ------------------------------------------------------------------ sources
# By role (README, "Layout").  common/, config/ and queue/ are linked by
# the shim, the commands, the unit tests and the fixtures' queue tools.
CORE_SRC   := $(sort $(wildcard common/*.c config/*.c queue/*.c))
# libdtask_shim.so is the preloaded door (shim/door.h): the config's
# names, the dlopen interposers and the GOT walker, with libc only, so
# that a program that catches nothing pays for little more than its load.
DOOR_SRC   := common/error.c common/log.c config/file.c config/names.c \
              shim/got.c shim/dlpath.c shim/door.c
# libdtask_engine.so, which the door loads beside it when a listed symbol
# is caught: the core, the caller role (shim/) and the runner role
# (runner/runner.c: start-up, supervisor.c, worker.c).
ROLE_SRC   := runner/runner.c runner/supervisor.c runner/worker.c \
              runner/proctitle.c runner/poolstat.c
ENGINE_SRC := $(CORE_SRC) $(filter-out shim/door.c shim/dlpath.c,\
              $(sort $(wildcard shim/*.c))) $(ROLE_SRC)
# dtask sig (draft/): its readers load libclang and libdw with dlopen, so
# that neither is mapped into the shim, a runner, or another command.
DRAFT_SRC  := $(sort $(wildcard draft/*.c))
# The commands.  dtask check reads ELF files on disk (runner/elf_file.c)
# and names relocation kinds as the GOT patcher does (shim/got.c); both
# commands start runners with the environment autostart gives them
# (shim/runenv.c).
DTASK_SRC  := runner/dtask.c runner/launch.c runner/elf_file.c shim/got.c \
              shim/runenv.c runner/status.c runner/poolstat.c $(DRAFT_SRC)
RUNNER_SRC := runner/dtask-runner.c runner/launch.c shim/runenv.c

DOOR_OBJ   := $(DOOR_SRC:%.c=$(BUILD)/obj/%.o)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(BUILD)/obj/%.o)
CORE_OBJ   := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
DTASK_OBJ  := $(DTASK_SRC:%.c=$(BUILD)/obj/%.o)
RUNNER_OBJ := $(RUNNER_SRC:%.c=$(BUILD)/obj/%.o)
HEADERS    := $(wildcard common/*.h config/*.h draft/*.h queue/*.h shim/*.h runner/*.h)

# Every tests/<area>/test_*.c is a cmocka program, in the folder of the
# area it tests (tests/config/test_sig.c tests config/sig.c); each is
# built to $(BUILD)/tests/<area>/test_*.
UNIT_TESTS := $(patsubst tests/%.c,%,$(sort $(wildcard tests/*/test_*.c)))
UNIT_BINS  := $(UNIT_TESTS:%=$(BUILD)/tests/%)

SHIM       := $(BUILD)/libdtask_shim.so
ENGINE     := $(BUILD)/libdtask_engine.so
DTASK      := $(BUILD)/dtask
RUNNER     := $(BUILD)/dtask-runner
FIXTURES   := $(BUILD)/fixtures/elf/.built $(BUILD)/fixtures/got/.built \
              $(BUILD)/fixtures/interpose/.built $(BUILD)/fixtures/offload/.built \
              $(BUILD)/fixtures/failure/.built $(BUILD)/fixtures/fanout/.built \
               $(BUILD)/fixtures/objects/.built $(BUILD)/fixtures/rstring/.built \
               $(BUILD)/fixtures/trust/.built $(BUILD)/fixtures/behave/.built \
               $(BUILD)/fixtures/draft/.built $(BUILD)/fixtures/draftdw/.built \
               $(BUILD)/fixtures/async/.built $(BUILD)/fixtures/limits/.built \
               $(BUILD)/fixtures/bigbuf/.built \
              $(BUILD)/fixtures/qtool
BENCH_BINS := $(BUILD)/bench/libbnull.so $(BUILD)/bench/sync_overhead \
              $(BUILD)/bench/roundtrip $(BUILD)/bench/anchors \
              $(BUILD)/bench/argsize $(BUILD)/bench/coldstart $(BUILD)/bench/burn \
              $(BUILD)/bench/libempty.so $(BUILD)/bench/execloop \
              $(BUILD)/bench/redis_ping $(BUILD)/bench/napcalls \
              $(BUILD)/bench/xcopy $(BUILD)/bench/ring $(BUILD)/bench/lmdbtx
DEMO_BINS  := $(BUILD)/demo/reports $(BUILD)/demo/legacy

.PHONY: all check check-asan bench install uninstall deb products clean deps demo FORCE
all: $(SHIM) $(ENGINE) $(DTASK) $(RUNNER) $(UNIT_BINS) $(FIXTURES) $(DEMO_BINS)

# Missing Debian packages are installed before anything is compiled.
$(BUILD)/.deps:
	@mkdir -p $(BUILD)
	@if [ "$(AUTO_DEPS)" = 1 ]; then sh tools/deps.sh --if-missing; fi
	@touch $@

deps:
	sh tools/deps.sh --bench

# buildinfo.h: the version, the commit and LIBDIR (where the commands
# look for the shim), rewritten only when one of them changes, so that
# only runner/launch.c is compiled again.
BUILDINFO  := $(BUILD)/gen/buildinfo.h
$(BUILDINFO): FORCE | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	@printf '#define DT_VERSION "%s"\n#define DT_COMMIT "%s"\n#define DT_LIBDIR "%s"\n' \
	  '$(VERSION)' '$(COMMIT)' '$(LIBDIR)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
FORCE:
$(BUILD)/obj/runner/launch.o: $(BUILDINFO)

# Each object depends on the headers it includes (-MMD).
$(BUILD)/obj/%.o: %.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_CFLAGS) -MMD -MP -c $< -o $@
-include $(wildcard $(BUILD)/obj/*/*.d)

# The door links libc alone (-z defs proves it); the engine, libffi and
# LMDB.  Both bind every symbol at load (-z now): no lazy resolution ever
# runs inside an interposed call.
$(SHIM): $(DOOR_OBJ)
	$(CC) $(SAN_FLAGS) -shared -o $@ $^ -Wl,-z,defs -Wl,-z,now

$(ENGINE): $(ENGINE_OBJ)
	$(CC) $(SAN_FLAGS) -shared -o $@ $^ $(LIBS) -Wl,-z,defs -Wl,-z,now

$(DTASK): $(DTASK_OBJ) $(CORE_OBJ)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

$(RUNNER): $(RUNNER_OBJ) $(CORE_OBJ)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

# Unit tests link the core objects they test directly (not the shim's
# constructor, which would run inside the test).  -Itests: every area's
# tests include tests/testutil.h as "testutil.h".
TEST_OBJ   := $(CORE_OBJ) $(BUILD)/obj/shim/got.o $(BUILD)/obj/shim/ffitype.o \
              $(BUILD)/obj/runner/poolstat.o \
              $(BUILD)/obj/shim/rstring.o $(BUILD)/obj/shim/jit.o \
              $(BUILD)/obj/runner/elf_file.o \
              $(DRAFT_SRC:%.c=$(BUILD)/obj/%.o)
TEST_CFLAGS := $(BASE_CFLAGS) -Itests
GOT_TEST   := $(BUILD)/tests/shim/test_got
$(filter-out $(GOT_TEST),$(UNIT_BINS)): $(BUILD)/tests/%: tests/%.c tests/testutil.h $(wildcard tests/*/*.h) $(HEADERS) $(TEST_OBJ) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(TEST_OBJ) $(TEST_LIBS)

# test_got also checks the program's own JUMP_SLOT, so it links the fixture.
$(GOT_TEST): tests/shim/test_got.c tests/testutil.h $(HEADERS) $(TEST_OBJ) $(BUILD)/fixtures/got/.built
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -DDTASK_TEST_LINKED_GOTDEF -o $@ $< $(TEST_OBJ) \
	  -L$(BUILD)/fixtures/got -Wl,-rpath,$(abspath $(BUILD)/fixtures/got) -lgotdef $(TEST_LIBS)

$(BUILD)/fixtures/elf/.built: $(wildcard tests/fixtures/elf/*) tests/fixtures/build-lib.sh | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/elf/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/got/.built: $(wildcard tests/fixtures/got/*) tests/fixtures/build-lib.sh | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/got/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/interpose/.built: $(wildcard tests/fixtures/interpose/*) tests/fixtures/build-lib.sh | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/interpose/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/offload/.built: $(wildcard tests/fixtures/offload/*) tests/fixtures/build-lib.sh tests/fixtures/execlog.h | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/offload/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/fanout/.built: $(wildcard tests/fixtures/fanout/*) tests/fixtures/build-lib.sh tests/fixtures/execlog.h | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/fanout/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/failure/.built: $(wildcard tests/fixtures/failure/*) tests/fixtures/build-lib.sh tests/fixtures/execlog.h | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/failure/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/rstring/.built: $(wildcard tests/fixtures/rstring/*) tests/fixtures/build-lib.sh | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/rstring/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/trust/.built: $(wildcard tests/fixtures/trust/*) tests/fixtures/build-lib.sh tests/fixtures/execlog.h | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/trust/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/draft/.built: $(wildcard tests/fixtures/draft/*) tests/fixtures/build-lib.sh | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/draft/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/draftdw/.built: $(wildcard tests/fixtures/draftdw/*) tests/fixtures/build-lib.sh | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/draftdw/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/async/.built: $(wildcard tests/fixtures/async/*) tests/fixtures/build-lib.sh | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/async/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/limits/.built: $(wildcard tests/fixtures/limits/*) tests/fixtures/build-lib.sh | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/limits/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/bigbuf/.built: $(wildcard tests/fixtures/bigbuf/*) tests/fixtures/build-lib.sh | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/bigbuf/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/behave/.built: $(wildcard tests/fixtures/behave/*) tests/fixtures/build-lib.sh tests/fixtures/execlog.h | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/behave/build.sh $(dir $@)
	@touch $@

$(BUILD)/fixtures/objects/.built: $(wildcard tests/fixtures/objects/*) | $(BUILD)/.deps
	CC="$(CC)" bash tests/fixtures/objects/build.sh $(dir $@)
	@touch $@

# The integration tests' queue tool (counts, blobs, map high-water mark,
# raw tasks), built from the core sources as a plain program: no
# sanitizers, so that it needs no ASan runtime in the ASan build.
$(BUILD)/fixtures/qtool: tests/fixtures/qtool.c $(CORE_SRC) $(HEADERS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -Wall -Wextra -I. -o $@ $< $(CORE_SRC) -lffi -llmdb -pthread

check: all
	@rm -rf $(BUILD)/tmp
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) sh tests/run.sh $(UNIT_BINS)

# The demo's library and programs: plain C, no sanitizers, no dtask.
$(BUILD)/demo/libreport.so: demo/libreport.c demo/report.h | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Werror -fPIC -shared -o $@ $<

$(BUILD)/demo/reports: demo/reports.c demo/report.h $(BUILD)/demo/libreport.so
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Werror -o $@ $< -Ldemo -L$(BUILD)/demo -Wl,-rpath,'$$ORIGIN' -lreport -pthread

$(BUILD)/demo/liblegacy.so: demo/liblegacy.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Werror -fPIC -shared -o $@ $< -pthread

$(BUILD)/demo/legacy: demo/legacy.c $(BUILD)/demo/liblegacy.so
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Werror -o $@ $< -L$(BUILD)/demo -Wl,-rpath,'$$ORIGIN' -llegacy -pthread

# The README's first command: build everything and run the demo.
demo: all
	@BUILD=$(BUILD) bash demo/run.sh

check-asan:
	$(MAKE) check SANITIZE=1

# Benchmark programs are built without sanitizers, at -O2, in every build
# directory: the integration test of bench/compare.sh runs them in the
# ASan build too (the shim there has ASan; these stay plain programs).
BENCH_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g $(WARN)
BENCH_LINK  := -L$(BUILD)/bench -Wl,-rpath,'$$ORIGIN' -lbnull
all: $(BENCH_BINS)

$(BUILD)/bench/libbnull.so: bench/libbnull.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -fPIC -shared -o $@ $<

$(BUILD)/bench/sync_overhead: bench/sync_overhead.c bench/bench.h $(BUILD)/bench/libbnull.so
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_LINK)

$(BUILD)/bench/roundtrip: bench/roundtrip.c bench/bench.h $(BUILD)/bench/libbnull.so
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_LINK) -pthread

$(BUILD)/bench/napcalls: bench/napcalls.c bench/bench.h $(BUILD)/bench/libbnull.so
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_LINK) -pthread

$(BUILD)/bench/argsize: bench/argsize.c bench/bench.h $(BUILD)/bench/libbnull.so
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_LINK)

$(BUILD)/bench/coldstart: bench/coldstart.c bench/bench.h $(BUILD)/bench/libbnull.so
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_LINK)

$(BUILD)/bench/burn: bench/burn.c bench/bench.h $(BUILD)/bench/libbnull.so
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(BENCH_LINK)

$(BUILD)/bench/anchors: bench/anchors.c bench/bench.h | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BUILD)/bench/xcopy: bench/xcopy.c bench/bench.h | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

# The throughput table's limit: C callers and W servers through a bare
# queue in shared memory.
$(BUILD)/bench/ring: bench/ring.c bench/bench.h | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -pthread

# What LMDB's transactions of one call cost, alone and between two
# processes, and with dtask's records in them: the record code is
# compiled in from its sources, plain as every benchmark program is.
LMDBTX_SRC := queue/wire.c queue/wire_task.c queue/wire_result.c \
              config/sig.c config/types.c config/units.c shim/ffitype.c \
              common/error.c common/log.c
$(BUILD)/bench/lmdbtx: bench/lmdbtx.c bench/bench.h $(LMDBTX_SRC) $(HEADERS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -I. -I$(BUILD)/gen -o $@ $< $(LMDBTX_SRC) -lffi -llmdb

# The exec benchmark: execloop starts a program N times; libempty.so is
# what preloading a library costs without the shim (the baseline).
$(BUILD)/bench/execloop: bench/execloop.c bench/bench.h | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BUILD)/bench/libempty.so: bench/empty.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -fPIC -shared -o $@ $<

# The Redis group's limit: PING round trips through hiredis.
$(BUILD)/bench/redis_ping: bench/redis_ping.c bench/bench.h | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lhiredis

# bench/run.sh prints the Markdown table, writes bench/results/<UTC time>/
# (results.json, results.md, plots) and, for a full run, copies them to
# bench/results/latest.md and bench/results/latest/.
bench: all $(BENCH_BINS)
	@sh tools/deps.sh --bench || echo "bench: tools/deps.sh --bench failed (above); the bench runs with what is installed" >&2
	@BUILD=$(BUILD) QUICK=$(QUICK) bash bench/run.sh

# ------------------------------------------------------------ install
# Every file make install writes, as DESTINATION:SOURCE:MODE; uninstall
# removes exactly these (then the directories of dtask's own: DOCDIR and
# $(LIBDIR)/dtask).  Manual pages are installed compressed (gzip -9n, as
# Debian does), the unit with @BINDIR@ filled in, the completion under
# both command names.
INSTALL_FILES := \
  $(BINDIR)/dtask:$(DTASK):0755 \
  $(BINDIR)/dtask-runner:$(RUNNER):0755 \
  $(LIBDIR)/libdtask_shim.so:$(SHIM):0644 \
  $(LIBDIR)/libdtask_engine.so:$(ENGINE):0644 \
  $(MANDIR)/man1/dtask.1.gz:man/dtask.1:0644 \
  $(MANDIR)/man1/dtask-runner.1.gz:man/dtask-runner.1:0644 \
  $(MANDIR)/man5/dtask.toml.5.gz:man/dtask.toml.5:0644 \
  $(DOCDIR)/dtask.example.toml:config/dtask.example.toml:0644 \
  $(DOCDIR)/README.md:README.md:0644 \
  $(UNITDIR)/dtask-runner@.service:tools/dtask-runner@.service:0644 \
  $(COMPDIR)/dtask:tools/dtask.bash-completion:0644 \
  $(COMPDIR)/dtask-runner:tools/dtask.bash-completion:0644 \
  $(DEMODIR)/run.sh:demo/run.sh:0755 \
  $(DEMODIR)/dtask.toml:demo/dtask.toml:0644 \
  $(DEMODIR)/reports:$(BUILD)/demo/reports:0755 \
  $(DEMODIR)/libreport.so:$(BUILD)/demo/libreport.so:0644 \
  $(DEMODIR)/legacy:$(BUILD)/demo/legacy:0755 \
  $(DEMODIR)/liblegacy.so:$(BUILD)/demo/liblegacy.so:0644
PRODUCTS   := $(SHIM) $(ENGINE) $(DTASK) $(RUNNER) $(DEMO_BINS)

# install: each file through a temporary name and a rename, so that a
# running program never sees half a library.  As root with no DESTDIR,
# ldconfig runs, so that LD_PRELOAD=libdtask_shim.so finds LIBDIR.
install: $(PRODUCTS)
	@set -e; for f in $(INSTALL_FILES); do \
	  dst=$(DESTDIR)$${f%%:*}; rest=$${f#*:}; src=$${rest%%:*}; mode=$${rest#*:}; \
	  mkdir -p "$$(dirname "$$dst")"; \
	  case $$dst in \
	    *.gz) gzip -9n <"$$src" >"$$dst.tmp" ;; \
	    *.service) sed 's|@BINDIR@|$(BINDIR)|g' "$$src" >"$$dst.tmp" ;; \
	    *) cp "$$src" "$$dst.tmp" ;; \
	  esac; \
	  chmod "$$mode" "$$dst.tmp"; mv -f "$$dst.tmp" "$$dst"; echo "installed $$dst"; \
	done
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	@for f in $(INSTALL_FILES); do \
	  dst=$(DESTDIR)$${f%%:*}; \
	  if [ -e "$$dst" ] || [ -L "$$dst" ]; then rm -f "$$dst" && echo "removed $$dst"; fi; \
	done
	@rmdir $(DESTDIR)$(DEMODIR) $(DESTDIR)$(LIBDIR)/dtask $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# ---------------------------------------------------------------- deb
# make deb: the products built for /usr in their own directory
# (build-deb), installed into a staging root, and packed with dpkg-deb:
# $(BUILD)/dtask_$(VERSION)_ARCH.deb.  Never with sanitizers: a package
# is what users run.
DEB_ARCH   := $(shell dpkg --print-architecture 2>/dev/null)
DEB_MULTI  := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || $(CC) -print-multiarch)
DEB        := $(BUILD)/dtask_$(VERSION)_$(DEB_ARCH).deb
deb:
ifeq ($(SANITIZE),1)
	@echo "make deb: a package is never built with sanitizers; run make deb without SANITIZE=1" >&2; exit 1
else
	$(MAKE) BUILD=build-deb PREFIX=/usr LIBDIR=/usr/lib/$(DEB_MULTI) \
	  UNITDIR=/usr/lib/systemd/system COMMIT=$(COMMIT) products
	rm -rf build-deb/root
	$(MAKE) BUILD=build-deb PREFIX=/usr LIBDIR=/usr/lib/$(DEB_MULTI) \
	  UNITDIR=/usr/lib/systemd/system COMMIT=$(COMMIT) DESTDIR=$(CURDIR)/build-deb/root install
	VERSION=$(VERSION) ARCH=$(DEB_ARCH) bash tools/deb.sh build-deb/root $(DEB)
endif

products: $(PRODUCTS)

clean:
	rm -rf build build-asan build-deb

# ---------------------------------------------------------------- fuzz
include tests/fuzz/fuzz.mk
