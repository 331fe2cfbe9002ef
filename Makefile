# mrun developer targets. Everything here also works as plain go commands; see README.md.
GO ?= go

.PHONY: all run test race guests toolchains bench capacity check

all: check test

## run: the seed graph on the in-process engine (README's first command)
run:
	$(GO) run ./cmd/mrun run examples/seed.yaml

## test: the whole test suite (host and Go guest SDK)
test:
	$(GO) test ./...

## race: the engine and runtime under the race detector
race:
	$(GO) test -race -short ./abi/ ./runtime/ ./dag/ ./dag/cluster/ ./dag/cache/

## guests: rebuild every committed guest module under testdata/ from source (installs toolchains)
guests:
	bash guests/build.sh

## toolchains: install the C, Rust, AssemblyScript, Zig and WAT compilers the guests need
toolchains:
	bash guests/toolchains.sh

## bench: the performance report (a few minutes): every workload against its plain-Go (tensors: NumPy) baseline and target
bench:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) build -o "$$tmp/" ./cmd/mrun ./internal/procbench ./internal/benchfmt ./internal/tensorbench && \
	{ $(GO) test -run '^$$' -bench . -benchtime 2s -count 3 ./dag/ || echo FAIL dag; \
	  $(GO) test -run '^$$' -bench 'TensorHandoff/handoff$$' -benchtime 20x -count 3 ./guests/ || echo FAIL guests; \
	  for n in 10000 100000 1000000; do \
	    "$$tmp/procbench" scale c=testdata/c/conformance.wasm $$n || echo FAIL scale; \
	    "$$tmp/procbench" scale -goroutines c=testdata/c/conformance.wasm $$n || echo FAIL scale; \
	  done; \
	  "$$tmp/procbench" coldstart "$$tmp/mrun" c=testdata/c/conformance.wasm \
	    wat=testdata/wat/conformance.wasm go=testdata/seed.wasm || echo FAIL coldstart; \
	  "$$tmp/procbench" distributed "$$tmp/mrun" c=testdata/c/conformance.wasm 10000 || echo FAIL distributed; \
	  "$$tmp/procbench" rerun "$$tmp/mrun" examples/fanout.yaml || echo FAIL rerun; \
	  "$$tmp/tensorbench" -count 3 || echo FAIL tensorbench; \
	} | "$$tmp/benchfmt"

## capacity: what a cluster on this machine costs per call and per idle worker, and the capacity model's predictions (docs/capacity.md; a few minutes)
capacity:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) build -o "$$tmp/" ./cmd/mrun ./internal/procbench && \
	uptime && "$$tmp/procbench" capacity "$$tmp/mrun" c=testdata/c/conformance.wasm 10000 && \
	uptime && "$$tmp/procbench" capacity -workers 50 -slots 1 -idle 20s "$$tmp/mrun" c=testdata/c/conformance.wasm 10000 && \
	uptime

## check: formatting, vet and tidiness; fails on a dirty tree
check:
	test -z "$$(gofmt -l . | tee /dev/stderr)"
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./guests/go/...
	$(GO) mod tidy
	git diff --exit-code -- go.mod go.sum
