# libFuzzer targets (clang + ASan + UBSan), included by the Makefile (its recipes run from the repository root).
#
#   make fuzz-build     build build-fuzz/fuzz_safetensors, fuzz_weights, fuzz_images
#   make fuzz           run each for FUZZ_SECONDS (60) seconds from its seed corpus; any crash, leak, timeout,
#                       over-limit allocation or sanitizer report fails (exit 1) and leaves the reproducer in
#                       build-fuzz/artifacts/<target>/, the log in build-fuzz/<target>.log
#   make fuzz FUZZ_SECONDS=300 FUZZ_TARGETS=weights FUZZ_JOBS=2      (FUZZ_JOBS targets at a time)
#   make fuzz-clean
#
# Each run starts from a copy of tests/fuzz/corpus/<target>/ in build-fuzz/corpus/<target>/, so what the
# fuzzer adds stays out of the repository (and is kept for the next run), with tests/fuzz/<target>.dict
# (safetensors.dict for a target without its own). Limits: -max_len=65536, -timeout=25 s per input,
# -rss_limit_mb=4096 -malloc_limit_mb=4096: an accepted model is at most a few times its 64 KiB file, so any
# single allocation over 4 GiB is a size taken from a header or metadata unchecked, and counts as a crash.
# Reproduce one input:  build-fuzz/fuzz_weights build-fuzz/artifacts/weights/crash-...
# DYVM_FUZZ_ROUND_TRIP=0 make fuzz ...   skips fuzz_weights' save-and-reload check (to fuzz the loader alone).
# Round trips write one small file in a private folder under /dev/shm ($FUZZ_TMPDIR), removed at exit.
FUZZ_CC      ?= clang
FUZZ_DIR     := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS    ?= 1
FUZZ_TARGETS ?= safetensors weights images
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# the project's sources without OpenMP (those linked here use no OpenMP) and without -Werror: clang may warn
# where gcc does not, and that is for the Makefile's build to judge; the harness itself builds with -Werror
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra $(FUZZ_SAN) -Ireference -Ibench -Itests -Ikernels -MMD -MP
FUZZ_LIBS    := -lcjson -lm
# the objects each target needs
FUZZ_OBJ_safetensors := safetensors atomic_file
FUZZ_OBJ_weights     := safetensors atomic_file weights config rng checked memplan pos_embed
FUZZ_OBJ_images      := safetensors atomic_file images config checked
FUZZ_ALL     := safetensors weights images
FUZZ_OBJ     := $(patsubst %,$(FUZZ_DIR)/reference/%.o,$(sort $(foreach t,$(FUZZ_ALL),$(FUZZ_OBJ_$(t)))))
FUZZ_BIN     := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_ALL))

.PHONY: fuzz fuzz-build fuzz-clean

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_JOBS) $(FUZZ_TARGETS)

fuzz-clean:
	rm -rf $(FUZZ_DIR)

# clang with libFuzzer's runtime, probed once (prints ✓ or ✗ with what it found)
$(FUZZ_DIR)/probe.ok: tests/fuzz/fuzz.mk
	@mkdir -p $(FUZZ_DIR)
	@printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	  > $(FUZZ_DIR)/probe.c
	@if $(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $(FUZZ_DIR)/probe.c -o $(FUZZ_DIR)/probe 2>$(FUZZ_DIR)/probe.log; then \
	  echo "✓ libFuzzer: $$($(FUZZ_CC) --version | head -1)"; touch $@; \
	else echo "✗ libFuzzer: $(FUZZ_CC) -fsanitize=fuzzer does not link ($$(head -1 $(FUZZ_DIR)/probe.log)); on Debian: apt-get install clang" >&2; \
	  exit 1; fi

$(FUZZ_DIR)/reference/%.o: reference/%.c | $(FUZZ_DIR)/probe.ok
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# one link rule per target, each with its own objects (no .SECONDEXPANSION: it would reach the Makefile's
# later rules)
define FUZZ_LINK
$(FUZZ_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/fuzz_common.h $(patsubst %,$(FUZZ_DIR)/reference/%.o,$(FUZZ_OBJ_$(1))) | $(FUZZ_DIR)/probe.ok
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer $$< $$(filter %.o,$$^) $$(FUZZ_LIBS) -o $$@
endef
$(foreach t,$(FUZZ_ALL),$(eval $(call FUZZ_LINK,$(t))))

-include $(FUZZ_OBJ:.o=.d) $(FUZZ_BIN:=.d)
