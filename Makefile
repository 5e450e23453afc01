# The two set-up-and-go commands (see README): `make run` and `make test`.
# Both install what is missing (apt-get, npm pack), build, then act. MODEL= overrides the model.
BUILD   ?= build
JOBS    ?= $(shell nproc)
LEAP    := $(BUILD)/bin/leap
# The embedded default: the LeaP-T nano model trained here (docs/nano.md).
NANO    := assets/leap-nano.gguf
MODEL   ?= $(NANO)
CMAKE_FLAGS ?=
# ggml's OpenMP threads spin while they wait; on a machine with other work running that costs
# 4x here (docs/performance.md). Passive waiting unless the caller chose otherwise.
export OMP_WAIT_POLICY ?= PASSIVE

# The fuzz build (clang, libFuzzer, ASan + UBSan; fuzz/) and the sanitizer build of the unit
# tests (ASan + UBSan; llama.cpp compiled as in $(BUILD)): both part of `make test`.
FUZZ_BUILD     ?= build-fuzz
SANITIZE_BUILD ?= build-sanitize
FUZZ_SECONDS   ?= 25

.PHONY: all deps llama configure build run test test-fuzz test-sanitize clean default-model

all: build

deps:
	@scripts/install-deps.sh

llama: deps
	@scripts/fetch-llama.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

configure: llama $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j$(JOBS)

# A random-weight tiny qwen2 model (exercises the engine; its answers are noise).
models/leap-random-tiny.gguf: | build
	@mkdir -p models
	$(LEAP) make-model --preset tiny --seed 1 -o $@ \
	    --chat-template-file third_party/llama.cpp/models/templates/deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja

default-model: models/leap-random-tiny.gguf

# With the default model: LeaP-T vs independent sampling on 100 held-out nano problems (a few
# minutes), ending with a headline, a short table and the HTML report's path. With MODEL=...: LeaP
# on the sample problem.
run: build $(if $(filter models/leap-random-tiny.gguf,$(MODEL)),default-model)
ifeq ($(MODEL),$(NANO))
	LEAP=$(LEAP) MATCH=1 scripts/nano-compare.sh $(NANO) 100 results/nano
else
	$(LEAP) solve -m $(MODEL) --sample --method leap -N 4 -T 96 --segments 3 --peers 2 \
	    --router dispersed --summary-tokens 48 --answer-tokens 32 --seed 1 \
	    --trace results/run-trace.json
endif

# MODEL= other than the default also smoke-tests that model after the suite; then the fuzz
# targets run, then the unit tests again in the sanitizer build (about 26 minutes on the 2-core
# build machine: docs/reliability.md, "Fuzzing and sanitizers").
test: build
	cd $(BUILD) && ctest --output-on-failure --timeout 900
ifneq ($(MODEL),$(NANO))
	$(LEAP) info $(MODEL)
	$(LEAP) solve -m $(MODEL) --sample --method leap -N 2 -T 32 --segments 2 --summary-tokens 16 \
	    --answer-tokens 16 --seed 1
endif
	@$(MAKE) --no-print-directory test-fuzz
	@$(MAKE) --no-print-directory test-sanitize

# Each fuzz target for FUZZ_SECONDS over its corpus (fuzz/corpus/NAME), as ctest tests; a crash
# leaves its input in $(FUZZ_BUILD)/fuzz-crashes/ (docs/reliability.md, "Fuzzing").
test-fuzz: llama
	@test -f $(FUZZ_BUILD)/CMakeCache.txt || CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) \
	    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEAP_FUZZ=ON -DLEAP_BUILD_TESTS=OFF
	cmake -S . -B $(FUZZ_BUILD) -DLEAP_FUZZ_SECONDS=$(FUZZ_SECONDS) > /dev/null
	cmake --build $(FUZZ_BUILD) --target leap_fuzzers -j$(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -L fuzz

# The unit tests (leap_tests, and the leap binary they run) built with ASan and UBSan; any
# report fails the run. The shell tests are left to the normal build.
test-sanitize: llama
	@test -f $(SANITIZE_BUILD)/CMakeCache.txt || cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=Release -DLEAP_SANITIZE=ON
	cmake --build $(SANITIZE_BUILD) --target leap_tests llama-server -j$(JOBS)
	cd $(SANITIZE_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure --timeout 900 -E '^sh\.'

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(SANITIZE_BUILD)
