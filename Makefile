# dyvm-bench: make | make test | make bench | make clean      (make NATIVE=1 for -march=native)
BUILD   := build
NATIVE  ?= 0
ARCH    := $(if $(filter 1,$(NATIVE)),-march=native,-march=x86-64-v3)
CFLAGS  := -std=c11 -O2 $(ARCH) -ffp-contract=fast -fopenmp -g -Wall -Wextra -Werror -Wshadow -D_GNU_SOURCE \
           -Ireference -Ibench -Itests -MMD -MP
LDFLAGS := -fopenmp
LDLIBS   = $(BLAS_LIBS) -lcjson -lmvec -lm
GOLDEN  ?= ../shared/golden

REF_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(wildcard reference/*.c))
BENCH_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/*.c))
BENCH_LIB := $(filter-out $(BUILD)/bench/dyvm.o,$(BENCH_OBJ))
TEST_LIB  := $(BUILD)/tests/check.o $(BUILD)/tests/compare.o
TESTS     := $(BUILD)/tests/test_safetensors $(BUILD)/tests/test_model $(BUILD)/tests/test_golden \
             $(BUILD)/tests/test_flops $(BUILD)/tests/test_bench $(BUILD)/tests/test_papi

.PHONY: all test bench clean deps FORCE
.SECONDARY:
all: $(BUILD)/dyvm

# Probe the dependencies (each prints ✓ or ✗); install the missing ones when root, else say how.
ifeq ($(filter clean deps,$(MAKECMDGOALS)),)
include $(BUILD)/config.mk
endif
ifeq ($(HAVE_PAPI),1)
CFLAGS  += -DDYVM_HAVE_PAPI
LDLIBS  += -lpapi -lsde
endif
$(BUILD)/config.mk: scripts/probe.sh
	@scripts/probe.sh $@ || { \
	  if [ "$$(id -u)" = 0 ]; then echo "installing the missing dependencies (scripts/install-deps.sh)"; \
	    scripts/install-deps.sh && scripts/probe.sh $@; \
	  else echo "missing dependencies: run   sudo scripts/install-deps.sh   then make again" >&2; exit 1; fi; }

deps:
	scripts/install-deps.sh

# The commit and flags a binary was built from go into its reports.
COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)
$(BUILD)/commit.txt: FORCE
	@mkdir -p $(BUILD); echo '$(COMMIT) $(CFLAGS)' | cmp -s - $@ || echo '$(COMMIT) $(CFLAGS)' > $@
FORCE:
$(BUILD)/bench/env.o: $(BUILD)/commit.txt
BUILD_FLAGS := $(filter -O% -m% -f%,$(CFLAGS))
$(BUILD)/bench/env.o: CFLAGS += -DDYVM_COMMIT='"$(COMMIT)"' -DDYVM_CFLAGS='"$(BUILD_FLAGS)"'

$(BUILD)/%.o: %.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/dyvm: $(BENCH_OBJ) $(REF_OBJ) $(BUILD)/config.mk
	$(CC) $(LDFLAGS) $(filter %.o,$^) $(LDLIBS) -o $@

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(TEST_LIB) $(BENCH_LIB) $(REF_OBJ) $(BUILD)/config.mk
	$(CC) $(LDFLAGS) $(filter %.o,$^) $(LDLIBS) -o $@

test: $(BUILD)/dyvm $(TESTS)
	@DYVM=$(BUILD)/dyvm GOLDEN=$(GOLDEN) scripts/run-tests.sh $(TESTS) tests/test_cli.sh

# The suites (paper, blocks, keep, batch, breakdown) into reports/<date>-<host>-cpu/ and reports/index.md;
# QUICK=1 runs smaller models and sweeps with shorter timing.
bench: $(BUILD)/dyvm
	$(BUILD)/dyvm bench --suite all --out reports $(if $(filter 1,$(QUICK)),--quick)

clean:
	rm -rf $(BUILD)

-include $(REF_OBJ:.o=.d) $(BENCH_OBJ:.o=.d) $(TESTS:=.d) $(TEST_LIB:.o=.d)
