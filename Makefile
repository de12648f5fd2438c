# The two commands of the README:
#   make demo   build everything, start a fresh cos-server, run the walk-through
#   make test   build everything and run every test (ctest)
# and the rest: make (build), make asan, make bench, make install,
# make amalgamation, make docs, make clean.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX ?= /usr/local
CMAKE_FLAGS ?=

.PHONY: all build test asan demo bench bench-quick install amalgamation docs clean deps ensure-deps

all: build

# First run on a fresh Debian 12: every target that compiles checks the
# packages first (one dpkg-query, silent when nothing is missing); as root it
# installs what is missing, otherwise it prints the one command to run.
ensure-deps:
	@bash scripts/install-deps.sh --ensure

# build/Makefile exists only after a configure that succeeded, so a failed
# one (say, a missing -dev package) is retried on the next make.
$(BUILD)/Makefile: | ensure-deps
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DCOS_VALGRIND=ON $(CMAKE_FLAGS)

build: ensure-deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: ensure-deps
	cmake -S . -B $(ASAN_BUILD) -DCOS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD)

# COS_C_SDK_DIR=DIR (a cos-c-sdk-v5 checkout) adds the official C SDK's column.
bench: build
	bash bench/run.sh $(BUILD) $(if $(COS_C_SDK_DIR),--c-sdk $(COS_C_SDK_DIR))

# Only the per-request workloads (one at a time, 16 in flight): a few minutes.
bench-quick: build
	BENCH_QUICK=1 bash bench/run.sh $(BUILD) $(if $(COS_C_SDK_DIR),--c-sdk $(COS_C_SDK_DIR))

# PREFIX given to make (or in the environment) wins over the one build/ was
# configured with, so `make install PREFIX=...` works after a first build.
install: build
	cmake --install $(BUILD) $(if $(filter command line environment,$(origin PREFIX)),--prefix $(PREFIX))

amalgamation: ensure-deps
	bash scripts/amalgamate.sh $(BUILD)/amalgamation

docs: ensure-deps
	bash scripts/docs.sh $(BUILD)/docs

deps:
	bash scripts/install-deps.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

# ---- other architectures and Debian packages (docs/platforms.md)
# make cross-test   cross-build for arm64, armhf, s390x; tests under qemu-user
# make deb          .debs of libcos1, libcos-dev, cos, cos-server in build/deb
# make deb-test     install them in a scratch Debian root, start the service, use cos
CROSS_ARCHES ?= arm64 armhf s390x
.PHONY: cross-test deb deb-test

cross-test:
	bash scripts/cross-test.sh $(CROSS_ARCHES)

deb:
	bash scripts/build-deb.sh $(BUILD)/deb

deb-test: deb
	bash scripts/deb-test.sh $(BUILD)/deb
