# The two commands (see README.md):
#   make run    install what is missing, build, and serve the embedded default on 127.0.0.1:3001
#   make test   install what is missing, build, start PostgreSQL and S3 for the tests, run them all
#
#   make install  build and install duckling, the pinned DuckDB and the systemd unit into PREFIX
#
# PREFIX is where scripts/install-duckdb puts DuckDB (default /usr/local) and where `make install`
# installs; ARGS go to `duckling serve`.

PREFIX ?= /usr/local
SWIFT ?= swift
ARGS ?=
export PREFIX
export PKG_CONFIG_PATH := $(PREFIX)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))
# SwiftPM drops rpaths from pkg-config; name the library directory for non-system prefixes.
LINK := -Xlinker -rpath -Xlinker $(PREFIX)/lib

.PHONY: run test deps build release install bench clean

run: release
	.build/release/duckling serve $(ARGS)

test: build
	scripts/tests/install-test-deps
	scripts/tests/install-duckdb-test
	scripts/test-services run -- $(SWIFT) test --skip-build --no-parallel
	scripts/tests/install-check

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build --build-tests $(LINK)

release: deps
	$(SWIFT) build -c release --product duckling $(LINK)

# `make install` installs the build `make run` uses (CONFIGURATION=debug: the one `make build`
# makes, for scripts/tests/install-check) with the Swift runtime libraries beside it, its run path
# rewritten to them and to PREFIX/lib, so it runs with no toolchain or build tree. It builds
# against the DuckDB `make build` uses when there is one (the same pinned version), so installing
# into another prefix rebuilds nothing.
CONFIGURATION ?= release
BUILD_PREFIX ?= $(if $(wildcard /usr/local/lib/pkgconfig/duckdb.pc),/usr/local,$(PREFIX))
BUILD_FLAGS = $(if $(filter debug,$(CONFIGURATION)),--build-tests,-c release --product duckling) -Xlinker -rpath -Xlinker $(BUILD_PREFIX)/lib
install:
	@PREFIX="$(BUILD_PREFIX)" scripts/install-deps
	PKG_CONFIG_PATH="$(BUILD_PREFIX)/lib/pkgconfig" $(SWIFT) build $(BUILD_FLAGS)
	scripts/install-duckling --prefix "$(PREFIX)" \
		--binary "$$(PKG_CONFIG_PATH="$(BUILD_PREFIX)/lib/pkgconfig" $(SWIFT) build $(BUILD_FLAGS) --show-bin-path)/duckling"

bench: deps
	bench/query-api/run
	bench/sync/run
	bench/backup/run
	bench/lake/run
	bench/events/run

clean:
	rm -rf .build
