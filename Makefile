# etap: build, run, test and benchmark.
#
#   make run     build bin/etap, prepare the machine, run examples/syscount.stp for 3 s
#   make test    prepare the machine (tracefs; QEMU and a Debian kernel for the
#                kprobe tests; stap for the parser comparison), gofmt check, go vet,
#                all tests (root: BPF tests run for real)
#   make bench   build, install bpftrace/bpftool, run the benchmarks in bench/
#   make fuzz    fuzz the parser, then the compiler, for a minute each

GO        ?= go
GOFMT     ?= gofmt
BIN       := bin/etap
BENCHTIME ?= 20x
FUZZTIME  ?= 60s

.PHONY: all build run test fmt-check vet bench fuzz clean

all: build

# A static binary: no cgo, so it runs on any Linux with BPF and BTF.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(BIN) ./cmd/etap

run: build
	scripts/setup
	$(BIN) -T 3 examples/syscount.stp

test:
	scripts/setup
	scripts/install-qemu
	scripts/install-peers
	@$(MAKE) --no-print-directory fmt-check
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

# gofmt -l lists files whose formatting differs; any output fails the check.
# testdata/ is skipped: the go tool ignores it too, and fuzz corpora live there.
fmt-check:
	@files=$$(find . -name '*.go' -not -path './.git/*' -not -path '*/testdata/*' -not -path './bin/*'); \
	unformatted=$$(if [ -n "$$files" ]; then $(GOFMT) -l $$files; fi); \
	if [ -n "$$unformatted" ]; then \
		echo "gofmt: these files need formatting (run gofmt -w):"; \
		echo "$$unformatted" | sed 's/^/  /'; \
		exit 1; \
	fi

vet:
	$(GO) vet ./...

bench: build
	scripts/install-peers
	$(GO) test -run='^$$' -bench=. -benchtime=$(BENCHTIME) -timeout 30m ./bench/

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./lang
	$(GO) test -run='^$$' -fuzz=FuzzCompile -fuzztime=$(FUZZTIME) ./codegen/bpf

clean:
	rm -rf bin
	$(GO) clean -testcache

