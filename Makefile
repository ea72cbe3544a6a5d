# dyvm-bench: make | make test | make bench | make clean      (make NATIVE=1 for -march=native)
# One portable binary: everything is built for the baseline x86-64 except reference/isa/kernels.c, built
# three times (AVX-512, AVX2 + FMA, scalar) and chosen at start-up (reference/cpu_isa.h), and a fourth time
# as AVX-512's code on AVX2 (--isa avx512emu, for tests).
# make test SAN=1: the same tests, built with ASan + UBSan into build-san/ (never mixed with build/)
SAN     ?= 0
BUILD   := $(if $(filter 1,$(SAN)),build-san,build)
NATIVE  ?= 0
ARCH    := $(if $(filter 1,$(NATIVE)),-march=native,-march=x86-64)
CFLAGS  := -std=c11 -O2 $(ARCH) -ffp-contract=fast -fopenmp -g -Wall -Wextra -Werror -Wshadow -D_GNU_SOURCE \
           -Ireference -Ibench -Itests -Ikernels -MMD -MP
# build/lib (scripts/bundle-libs.sh) lets a carried build run on a machine without OpenBLAS, cJSON or PAPI
LDFLAGS := -fopenmp -Wl,-rpath,'$$ORIGIN/lib:$$ORIGIN/../lib'
LDLIBS   = $(BLAS_LIBS) -lcjson -lmvec -lm
# Sanitizers on every C object and at link time; nvcc's objects are built as always and link unchanged.
# Leaks are checked at exit (tests/lsan.supp: libraries' own leaks only); verify_asan_link_order=0 because
# tests/test_blas_core.sh runs dyvm under an LD_PRELOAD shim, which ASan would otherwise refuse to start;
# protect_shadow_gap=0 because the CUDA driver maps memory where ASan's shadow gap is (GPU machines only).
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
CFLAGS   += $(SANFLAGS)
LDFLAGS  += $(SANFLAGS)
SAN_ENV  := ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:verify_asan_link_order=0:protect_shadow_gap=0 \
            UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
            LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
endif
GOLDEN  ?= ../shared/golden

ISAS      := avx512 avx2 scalar avx512emu
ISA_OBJ   := $(patsubst %,$(BUILD)/reference/isa/kernels_%.o,$(ISAS))
REF_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(wildcard reference/*.c)) $(ISA_OBJ)
BENCH_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard bench/*.c))
BENCH_LIB := $(filter-out $(BUILD)/bench/dyvm.o,$(BENCH_OBJ))
TEST_LIB  := $(BUILD)/tests/check.o $(BUILD)/tests/compare.o $(BUILD)/tests/cases.o
CU_SRC    := $(wildcard kernels/*.cu)
TESTS     := $(BUILD)/tests/test_safetensors $(BUILD)/tests/test_model $(BUILD)/tests/test_golden \
             $(BUILD)/tests/test_flops $(BUILD)/tests/test_bench $(BUILD)/tests/test_cuda $(BUILD)/tests/test_papi \
             $(BUILD)/tests/test_inference $(BUILD)/tests/test_blas_core $(BUILD)/tests/test_isa \
             $(BUILD)/tests/test_kernels_host $(BUILD)/tests/test_cuda_fake $(BUILD)/tests/test_resolution
TEST_SH   := tests/test_cli.sh tests/test_compare.sh tests/test_blas_core.sh tests/test_bad_inputs.sh \
             tests/test_gpu_check.sh tests/test_convert.py tests/test_shard.sh tests/test_slurm.sh \
             tests/test_scripts.sh

.PHONY: all test bench bench-resolution clean deps cuda gpu-build gpu-check FORCE
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
# The CUDA backend whenever nvcc exists: every .cu for sm_80 and sm_90, warnings as errors. Without nvcc,
# kernels/no_cuda.c stands in and says so.
ifeq ($(HAVE_NVCC),1)
CUDA_HOME := $(patsubst %/bin/nvcc,%,$(NVCC_PATH))
NVCC      := $(CUDA_HOME)/bin/nvcc
NVFLAGS   := -O3 -std=c++17 -lineinfo -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
             -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror -Ireference -Ikernels -I$(CUDA_HOME)/include
CUDA_OBJ  := $(patsubst %.cu,$(BUILD)/%.o,$(CU_SRC))
CFLAGS    += -DDYVM_HAVE_NVTX -I$(CUDA_HOME)/include
LDLIBS    += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
else
CUDA_OBJ  := $(BUILD)/kernels/no_cuda.o
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

# the ISA kernels: one object per ISA from one source (its -march replaces the build's)
ISA_FLAGS_avx512 := -march=x86-64-v4 -DDYVM_VW=16 -DDYVM_ISA_NAME=avx512
ISA_FLAGS_avx2   := -march=x86-64-v3 -DDYVM_VW=8 -DDYVM_ISA_NAME=avx2
ISA_FLAGS_scalar := -march=x86-64 -DDYVM_VW=1 -DDYVM_ISA_NAME=scalar
# the 16-wide kernels on AVX2 (reference/isa/vec.h): AVX-512's code and bits, testable without its CPU.
# -Wno-psabi: gcc warns that a 64-byte vector passed without AVX-512 has another ABI; every function that
# passes one is static in kernels.c (the table's take pointers), so no call crosses an ABI boundary
ISA_FLAGS_avx512emu := -march=x86-64-v3 -Wno-psabi -DDYVM_VW=16 -DDYVM_ISA_NAME=avx512emu
$(BUILD)/reference/isa/kernels_%.o: reference/isa/kernels.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -march=%,$(CFLAGS)) $(ISA_FLAGS_$*) -Ireference/isa -c $< -o $@

$(BUILD)/kernels/%.o: kernels/%.cu $(wildcard kernels/*.cuh kernels/*.h reference/*.h) $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

# the CUDA kernels' per-thread bodies run on the CPU (no device needed): built by nvcc, or a stand-in saying
# SKIPPED where there is no nvcc
ifeq ($(HAVE_NVCC),1)
$(BUILD)/tests/test_kernels_host.o: tests/test_kernels_host.cu kernels/bodies.cuh kernels/cuda_common.cuh $(wildcard reference/*.h tests/*.h) $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -Itests -c $< -o $@
else
$(BUILD)/tests/test_kernels_host.o: tests/test_kernels_host_skip.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@
endif

# test_cuda's checks on a CPU stand-in for the backend (tests/fake_cuda.c): the test tested where no GPU is
$(BUILD)/tests/test_cuda_fake.o: tests/test_cuda.c $(BUILD)/config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DDYVM_FAKE_CUDA -c $< -o $@
$(BUILD)/tests/test_cuda_fake: $(BUILD)/tests/test_cuda_fake.o $(BUILD)/tests/fake_cuda.o $(TEST_LIB) $(REF_OBJ) $(BUILD)/config.mk
	$(CC) $(LDFLAGS) $(filter %.o,$^) $(LDLIBS) -o $@

cuda: $(CUDA_OBJ)
ifneq ($(HAVE_NVCC),1)
	@echo "nvcc not found: the CUDA backend is not built" >&2; exit 1
endif

$(BUILD)/dyvm: $(BENCH_OBJ) $(REF_OBJ) $(CUDA_OBJ) $(BUILD)/config.mk
	$(CC) $(LDFLAGS) $(filter %.o,$^) $(LDLIBS) -o $@

$(BUILD)/tests/test_%: $(BUILD)/tests/test_%.o $(TEST_LIB) $(BENCH_LIB) $(REF_OBJ) $(CUDA_OBJ) $(BUILD)/config.mk
	$(CC) $(LDFLAGS) $(filter %.o,$^) $(LDLIBS) -o $@

test: $(BUILD)/dyvm $(TESTS)
	@$(SAN_ENV) DYVM=$(BUILD)/dyvm GOLDEN=$(GOLDEN) scripts/run-tests.sh $(TESTS) $(TEST_SH)

# The suites (paper, blocks, keep, batch, breakdown, threads, sol) into reports/<date>-<host>-cpu/ and reports/index.md;
# QUICK=1 runs smaller models and sweeps with shorter timing.
bench: $(BUILD)/dyvm
	$(BUILD)/dyvm bench --suite all --out reports $(if $(filter 1,$(QUICK)),--quick)
	@if $(BUILD)/dyvm info --cuda >/dev/null 2>&1; then \
	  $(BUILD)/dyvm bench --suite all --backend cuda --out reports $(if $(filter 1,$(QUICK)),--quick); \
	else echo "GPU suites skipped: $$($(BUILD)/dyvm info --cuda)"; fi

# The resolution suite (Vim-S dense, token, block, DyVM at 224 ... 1024 pixels; QUICK=1: Vim-T at 224, 448,
# 640): not in `make bench`, whose budget its large sizes would pass (about 15 minutes on 2 cores)
bench-resolution: $(BUILD)/dyvm
	$(BUILD)/dyvm bench --suite resolution --out reports $(if $(filter 1,$(QUICK)),--quick)

# For a lent GPU machine: build here (binaries, tests, bundled libraries, the golden cases tiny and small,
# which ../shared does not carry), carry what scripts/gpu-check.sh names, run it there.
gpu-build: $(BUILD)/dyvm $(TESTS)
	scripts/bundle-libs.sh $(BUILD)/dyvm
	mkdir -p $(BUILD)/golden && cp -r $(GOLDEN)/tiny $(GOLDEN)/small $(BUILD)/golden/
gpu-check: gpu-build
	scripts/gpu-check.sh $(or $(OUT),gpu-check)

clean:
	rm -rf $(BUILD) build-san

# make fuzz (libFuzzer targets, clang): tests/fuzz/fuzz.mk, when present
-include tests/fuzz/fuzz.mk

# dependency files are only read, never made (no built-in rule may try: kernels_%.o would match)
$(BUILD)/%.d: ;
-include $(REF_OBJ:.o=.d) $(BENCH_OBJ:.o=.d) $(TESTS:=.d) $(TEST_LIB:.o=.d) $(BUILD)/tests/fake_cuda.d
