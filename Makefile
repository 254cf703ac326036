# alloclab: compare WebAssembly allocators under wazero.
#
#   make bench   run every scenario against every guest (count $(COUNT)), and the
#                host-boundary scenarios (count $(BOUNDARY_COUNT)); keep the results
#                under results/runs, and print benchstat's tables of them
#   make test    vet and test everything, every guest through the checker
#   make guests  rebuild every .wasm from its .wat with wat2wasm (Debian's wabt)
#                and the TinyGo twins with TinyGo 0.33 (guests/tinygo/build.sh,
#                which builds TinyGo where it is missing), and build the
#                real-world baselines (guests/baselines/build.sh)

SHELL     := /bin/bash
.SHELLFLAGS := -o pipefail -c

# BOUNDARY_COUNT is 6, the fewest counts for which benchstat gives a 95% interval
# (at 5 every timed cell of the boundary suite read ± ∞).
COUNT     ?= 10
BOUNDARY_COUNT ?= 6
BENCHARGS ?=
RUN       ?= $(shell date -u +%Y%m%d-%H%M%S)
RESULTS   := results/runs/$(RUN).txt

WAT2WASM  := wat2wasm --debug-names
WAT       := $(shell find guests harness scenarios -name '*.wat')

FUZZTIME  ?= 10s

.PHONY: bench test race fuzz guests baselines tools check report compare noise

# The results file is written as each benchmark finishes; the log beside it keeps
# progress and failures. A failing guest does not stop the table: its error is in
# the log and make exits non-zero after printing.
bench: baselines
	@mkdir -p results/runs
	@echo "# running the suite (count $(COUNT)) into $(RESULTS); progress in $(RESULTS:.txt=.log)" >&2
	@status=0; go run ./cmd/alloclab run -count $(COUNT) -mode replay,host $(BENCHARGS) -o $(RESULTS) 2>&1 | tee $(RESULTS:.txt=.log) >&2 || status=$$?; \
	 go run ./cmd/alloclab boundary -count $(BOUNDARY_COUNT) -o $(RESULTS:.txt=.boundary.txt) 2>&1 | tee $(RESULTS:.txt=.boundary.log) >&2 || status=$$?; \
	 go tool benchstat -col /guest $(RESULTS); \
	 go tool benchstat -col /guest $(RESULTS:.txt=.boundary.txt); \
	 exit $$status

# noise prints the median and p90 of benchstat's ± over the sec/op cells of
# NOISE (default: the latest run).
NOISE     ?= $(lastword $(sort $(filter-out %.boundary.txt,$(wildcard results/runs/*.txt))))
noise:
	go run ./cmd/alloclab noise $(NOISE)

# report writes the results pages of every run under results/runs into $(SITE):
# open $(SITE)/index.html from disk, or publish the folder on any static host.
SITE      ?= results/site
report:
	go run ./cmd/alloclab report -o $(SITE) $(sort $(filter-out %.boundary.txt,$(wildcard results/runs/*.txt)))

# compare runs the suite on OLD and NEW, git refs (checked out in a temporary
# worktree) or results files (used as they are; NEW defaults to the working
# tree), alternating COUNT rounds of -count 1 runs, and prints benchstat's
# comparison; COMPAREOUT keeps both sides' results and the table.
#   make compare OLD=main COUNT=5 BENCHARGS=-short
OLD       ?=
NEW       ?= .
COMPAREOUT ?=
compare:
	@test -n "$(OLD)" || { echo 'usage: make compare OLD=<git ref or results file> [NEW=<git ref, results file or .>] [COUNT=n] [BENCHARGS=...]' >&2; exit 2; }
	go run ./cmd/alloclab compare -count $(COUNT) $(if $(COMPAREOUT),-o $(COMPAREOUT)) $(OLD) $(NEW) -- $(BENCHARGS)

# The example module (examples/alloclabtest) is a module of its own, as a user's
# would be, so go test ./... does not reach it.
EXAMPLES  := examples/alloclabtest

# test's -timeout: harness's tests run every guest over every scenario, metered,
# and passed go test's default 10 minutes on a busy 2-core machine.
test:
	go vet ./...
	go test -timeout 30m ./...
	@for m in $(EXAMPLES); do echo "cd $$m && go vet ./... && go test ./..."; \
	  (cd $$m && go vet ./... && go test ./...) || exit 1; done

# race runs the tests of the packages that start goroutines (the boundary's
# cleanup queue, wazero's close-on-timeout watcher, the shared trace cache of
# scenarios) under the race detector, with -short: the tests that run every guest
# over every scenario (labtest.Long) took over 40 minutes under -race on a busy
# 2-core machine, and add no goroutines. Too slow for make test; .ci/run runs it.
RACEPKGS  := ./harness/... ./scenarios/...
race:
	go test -race -short -timeout 30m $(RACEPKGS)

# fuzz runs every fuzz target for FUZZTIME; go test already runs their seed corpora.
fuzz:
	@for pkg in $$(go list ./...); do \
	  for target in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "go test -run XXX -fuzz ^$$target\$$ -fuzztime $(FUZZTIME) -fuzzminimizetime 0x $$pkg"; \
	    go test -run XXX -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 0x $$pkg || exit 1; \
	  done; \
	done

# Rebuilding gives the same bytes: the committed .wasm files are checked against
# their sources in go test (guests/wasm_test.go).
guests: tools baselines
	@for wat in $(WAT); do echo "$(WAT2WASM) $$wat"; \
	  (cd $$(dirname $$wat) && $(WAT2WASM) $$(basename $$wat)) || exit 1; done
	@guests/tinygo/build.sh || [ $$? -eq 2 ] # 2: no TinyGo here, said why; the committed twins stay

# The baselines are built from their toolchains' packages into a git-ignored
# folder, installing the toolchains where it can; what cannot be built is skipped
# with the reason, and the run goes on without it.
baselines:
	guests/baselines/build.sh

tools:
	@command -v wat2wasm >/dev/null || { echo "installing wabt (wat2wasm) with apt-get" >&2; \
	  apt-get update -qq && apt-get install -y -qq wabt; }

# check fails if gofmt or go mod tidy would change the tree.
check:
	test -z "$$(gofmt -l .)"
	go mod tidy -diff
	@for m in $(EXAMPLES); do echo "cd $$m && go mod tidy -diff"; (cd $$m && go mod tidy -diff) || exit 1; done
