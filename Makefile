# Thin wrapper over CMake/CTest: the README's commands.
#   make run     install what is missing, build Release, run on agent/rigwatch.yaml
#   make test    install what tests need, build, run every test through CTest,
#                then print ran/passed/skipped/failed per label
#                (SANITIZE=OFF|ON|address|thread, WERROR=ON, FAIL_ON_SKIP=1)
#   make bench   build and run the benchmarks (each prints its figures)
#   make demo    simulator + agent + SMTP sink + Prometheus on loopback

SHELL := /bin/bash
JOBS ?= $(shell nproc)
CONFIG ?= agent/rigwatch.yaml
SANITIZE ?= OFF
WERROR ?= OFF
FAIL_ON_SKIP ?=
# A TSan build cannot share objects with the others: its own directory.
TEST_BUILD ?= $(if $(filter thread,$(SANITIZE)),build-tsan,build-test)
LAUNCHER := $(if $(shell command -v ccache),-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

# Debian packages (docs/architecture.md "Dependencies"). Build and run:
DEPS := build-essential cmake pkg-config prometheus-cpp-dev libmicrohttpd-dev libgnutls28-dev \
        libcurl4-openssl-dev librocksdb-dev libyaml-cpp-dev libgtest-dev \
        libgmock-dev libbenchmark-dev nlohmann-json3-dev zlib1g-dev libcrypt-dev \
        libre2-dev libssl-dev libsystemd-dev
# Tests additionally run the real tools:
TEST_DEPS := prometheus prometheus-alertmanager python3-aiosmtpd python3 python3-yaml openssl systemd \
             curl procps dbus-daemon
BENCH_DEPS := prometheus-node-exporter

.PHONY: all deps test-deps build run test bench demo clean format

all: build

# Installs only what is missing; runs apt-get update once, only if needed.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  if [ "$$(id -u)" != 0 ]; then SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(DEPS))

test-deps: deps
	$(call apt_install,$(TEST_DEPS))

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRIGWATCH_BUILD_BENCH=OFF
	cmake --build build -j $(JOBS)

run: build
	./build/rigwatch run --config $(CONFIG)

# The test build lives in its own directory so a Release `make run` build and
# a sanitizer test build never overwrite each other. Each step prints its
# wall time; the summary (per label) comes last and decides the exit status
# together with ctest's. TSan reports of every process, including the agent
# and simulator that integration tests start, land in tsan-reports/ and fail
# the run.
test: test-deps
	@t0=$$SECONDS; \
	cmake -S . -B $(TEST_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRIGWATCH_SANITIZE=$(SANITIZE) \
	  -DRIGWATCH_WERROR=$(WERROR) -DRIGWATCH_BUILD_BENCH=OFF $(LAUNCHER) && \
	cmake --build $(TEST_BUILD) -j $(JOBS) && \
	echo "time: build $(TEST_BUILD) $$((SECONDS - t0)) s"
	@t0=$$SECONDS; cd $(TEST_BUILD) && rm -rf ctest-junit.xml tsan-reports && mkdir tsan-reports; \
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp second_deadlock_stack=1 log_path=$(CURDIR)/$(TEST_BUILD)/tsan-reports/tsan $$TSAN_OPTIONS" \
	  ctest --output-on-failure --timeout 600 -j $(JOBS) --output-junit $(CURDIR)/$(TEST_BUILD)/ctest-junit.xml; \
	rc=$$?; echo "time: ctest $(TEST_BUILD) $$((SECONDS - t0)) s"; \
	if compgen -G 'tsan-reports/tsan.*' >/dev/null; then \
	  cat tsan-reports/tsan.*; echo "TSan reports from $$(ls tsan-reports | wc -l) process(es), in $(TEST_BUILD)/tsan-reports"; rc=1; \
	fi; \
	/usr/bin/python3 $(CURDIR)/tests/support/ctest_summary.py . ctest-junit.xml $(if $(FAIL_ON_SKIP),--fail-on-skip) \
	  && exit $$rc

bench: test-deps
	$(call apt_install,$(BENCH_DEPS))
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DRIGWATCH_BUILD_TESTS=ON -DRIGWATCH_BUILD_BENCH=ON
	cmake --build build-bench -j $(JOBS)
	./bench/run_all.sh build-bench

demo: build
	$(call apt_install,$(TEST_DEPS))
	./tests/demo/run_demo.sh build

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build build-test build-tsan build-bench build-release
