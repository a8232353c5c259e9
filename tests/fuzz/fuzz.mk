# tests/fuzz/fuzz.mk: coverage-guided fuzzing of dtask's parsers and
# decoders with libFuzzer, included from the Makefile.
#
# Targets:
#   fuzz         builds every harness (or those named in FUZZ) and runs
#                each for FUZZ_TIME seconds, one after the other, printing
#                one summary line per harness (tests/fuzz/run.sh); fails
#                when one crashes, leaks or times out, and keeps the input
#                under $(FUZZ_BUILD)/crashes/NAME/
#   fuzz-build   only builds them
#   fuzz-merge   adds to tests/fuzz/corpus/NAME/ the inputs of the scratch
#                corpus that reach new coverage (libFuzzer's -merge=1)
#   fuzz-seeds   writes the wire harnesses' seeds into tests/fuzz/corpus/
#                with dtask's own encoders (tests/fuzz/gen_seeds.c)
#   fuzz-clean   removes $(FUZZ_BUILD) (make clean does too)
#
#   make fuzz [FUZZ_TIME=60] [FUZZ="toml sig ..."] [FUZZ_TIMEOUT=10]
#
# A harness is tests/fuzz/fuzz_NAME.c (README, "Fuzzing"); it is linked
# with the objects the unit tests link (TEST_OBJ's sources), compiled
# by clang with libFuzzer's instrumentation, ASan and UBSan into
# $(FUZZ_BUILD), never into $(BUILD).  Each run reads the committed seeds,
# tests/fuzz/corpus/NAME/, and a scratch corpus, $(FUZZ_BUILD)/corpus/NAME/,
# where the inputs it finds are written (tests/ is never written), with
# the dictionary tests/fuzz/NAME.dict when there is one.
# tests/fuzz/test_corpus.c replays the committed corpora in make check.

FUZZ_CC      ?= $(shell command -v clang-14 2>/dev/null || command -v clang 2>/dev/null || echo clang)
FUZZ_TIME    ?= 60
FUZZ_TIMEOUT ?= 10
FUZZ_BUILD   ?= build-fuzz
FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ         ?= $(FUZZ_ALL)

FUZZ_SAN     := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) $(FUZZ_SAN) \
                -fno-omit-frame-pointer -DDT_LIBFUZZER -I. -Itests
# The sources of TEST_OBJ: everything a harness may call.
FUZZ_SRC     := $(CORE_SRC) shim/got.c shim/ffitype.c runner/poolstat.c \
                shim/rstring.c runner/elf_file.c
FUZZ_OBJ     := $(FUZZ_SRC:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIB     := $(FUZZ_BUILD)/libdtask-fuzz.a
FUZZ_HDRS    := tests/fuzz/fuzz.h tests/fuzz/fuzz_wire.h

.PHONY: fuzz fuzz-build fuzz-merge fuzz-seeds fuzz-clean
fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_TIME=$(FUZZ_TIME) \
	  FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) sh tests/fuzz/run.sh $(FUZZ)

fuzz-build: $(FUZZ:%=$(FUZZ_BUILD)/fuzz_%)

fuzz-merge: fuzz-build
	@set -e; for h in $(FUZZ); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$h; \
	  $(FUZZ_BUILD)/fuzz_$$h -merge=1 tests/fuzz/corpus/$$h \
	    $(FUZZ_BUILD)/corpus/$$h 2>&1 | tail -n 1; \
	done

# The seed generator is a plain program (gcc, no sanitizers) built from
# the core sources.
$(FUZZ_BUILD)/gen_seeds: tests/fuzz/gen_seeds.c $(FUZZ_HDRS) $(CORE_SRC) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE -O1 -g $(WARN) -I. -Itests -o $@ $< \
	  $(CORE_SRC) -lffi -llmdb -lhiredis -pthread -lm

fuzz-seeds: $(FUZZ_BUILD)/gen_seeds
	$(FUZZ_BUILD)/gen_seeds tests/fuzz/corpus

fuzz-clean:
	rm -rf $(FUZZ_BUILD)
clean: fuzz-clean

# clang, libFuzzer's runtime and the sanitizers' are installed first
# (tools/deps.sh --fuzz; AUTO_DEPS=0 turns that off).
$(FUZZ_BUILD)/.deps:
	@mkdir -p $(FUZZ_BUILD)
	@if [ "$(AUTO_DEPS)" = 1 ]; then sh tools/deps.sh --fuzz; fi
	@touch $@

$(FUZZ_BUILD)/obj/%.o: %.c | $(FUZZ_BUILD)/.deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
-include $(wildcard $(FUZZ_BUILD)/obj/*/*.d)

# An archive, so that a harness links only the objects it reaches (and
# libFuzzer counts only their coverage).
$(FUZZ_LIB): $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDRS) $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB) $(LIBS) -lhiredis -lm

# test_corpus.c includes the harnesses: rebuild it when one changes.
$(BUILD)/tests/fuzz/test_corpus: $(wildcard tests/fuzz/fuzz_*.c) $(FUZZ_HDRS)
