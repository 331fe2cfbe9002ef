# mrun developer targets. Everything here also works as plain go commands; see README.md.
GO ?= go

.PHONY: all run test race guests toolchains bench check

all: check test

## run: the seed graph on the in-process engine (README's first command)
run:
	$(GO) run ./cmd/mrun run examples/seed.yaml

## test: the whole test suite (host and Go guest SDK)
test:
	$(GO) test ./...

## race: the engine and runtime under the race detector
race:
	$(GO) test -race -short ./abi/ ./runtime/ ./dag/

## guests: rebuild every committed guest module under testdata/ from source (installs toolchains)
guests:
	bash guests/build.sh

## toolchains: install the C, Rust, AssemblyScript, Zig and WAT compilers the guests need
toolchains:
	bash guests/toolchains.sh

## bench: engine benchmarks next to plain-goroutine baselines
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 1 ./dag/ | $(GO) run ./internal/benchfmt

## check: formatting, vet and tidiness; fails on a dirty tree
check:
	test -z "$$(gofmt -l . | tee /dev/stderr)"
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./guests/go/...
	$(GO) mod tidy
	git diff --exit-code -- go.mod go.sum
