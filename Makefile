# The two commands of the README, and a few helpers.
#   make run    build and run the whole system locally (foreground; Ctrl-C stops it)
#   make test   build with ASan+UBSan and run every test through ctest
.PHONY: deps run test build build-test reset format clean fleet bench

JOBS ?= $(shell nproc)
LOCAL_DIR ?= .local

deps:
	@deploy/local/deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTALLY_SANITIZE=OFF >/dev/null
	@cmake --build build -j $(JOBS)

build-test: deps
	@cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Debug -DTALLY_SANITIZE=ON >/dev/null
	@cmake --build build-test -j $(JOBS)

run: build
	@deploy/local/stack.sh $(LOCAL_DIR) --tally build/tally

test: build-test
	@cd build-test && ctest --output-on-failure --timeout 600 $(CTEST_ARGS)

reset:
	rm -rf $(LOCAL_DIR)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf build build-test

# Fill the `make run` stack with a simulated fleet, e.g.
#   make fleet FLEET_ARGS='--mode steady --devices 500 --duration 60'
fleet: build
	@set -a; . $(LOCAL_DIR)/demo.env; set +a; build/tally-fleet $(FLEET_ARGS)

# The benchmark suite (bench/README.md): figures, not pass/fail; about 5 minutes.
bench: build
	@bench/run.sh
