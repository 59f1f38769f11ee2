# The two commands (see README.md):
#   make run    install what is missing, build, and serve the embedded default on 127.0.0.1:3001
#   make test   install what is missing, build, start PostgreSQL and S3 for the tests, run them all
#
# PREFIX is where scripts/install-duckdb puts DuckDB (default /usr/local); ARGS go to `duckling serve`.

PREFIX ?= /usr/local
SWIFT ?= swift
ARGS ?=
export PREFIX
export PKG_CONFIG_PATH := $(PREFIX)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))
# SwiftPM drops rpaths from pkg-config; name the library directory for non-system prefixes.
LINK := -Xlinker -rpath -Xlinker $(PREFIX)/lib

.PHONY: run test deps build release bench clean

run: release
	.build/release/duckling serve $(ARGS)

test: build
	scripts/tests/install-duckdb-test
	scripts/test-services run -- $(SWIFT) test --skip-build --no-parallel

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build --build-tests $(LINK)

release: deps
	$(SWIFT) build -c release --product duckling $(LINK)

bench: deps
	bench/query-api/run
	bench/sync/run
	bench/backup/run
	bench/lake/run
	bench/events/run

clean:
	rm -rf .build
