# zt-lab — build, run and test the lab. `make help` lists the targets.
GO      ?= go
BIN     := bin
ZTLAB   := $(BIN)/zt-lab
CONSUL  := $(BIN)/consul
FUZZTIME ?= 10s
RUNS    ?= 5
export CGO_ENABLED := 0
# The oldest Go that builds zt-lab (go.mod's go line), and the oldest
# consul the lab runs (mesh.MinVersion).
GO_MIN     := 1.26
CONSUL_MIN := 1.22.0

# Debian packages the lab's shells and tests use: nc for `nc fcs00 8181`
# (netcat-traditional: it returns to the prompt when the server closes),
# iproute2 for `ip` inside hosts, tmux to drive the TUI in tests.
DEB_PKGS := netcat-traditional iproute2 tmux procps
# The SSH provider's tests run Debian's OpenSSH server inside lab
# namespaces (never as the machine's service: policy-rc.d keeps the
# package from starting one) and read firewall tables with nft. The
# sniffer's tests check its pcap files and its tcpdump -X view against
# tshark and tcpdump themselves (and fail under CI without them).
TEST_DEB_PKGS := openssh-server nftables sudo tshark tcpdump

.PHONY: help go-version build cross dist consul consul-linux consul-or-found deps test-deps demo up test test-unit fuzz bench lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F'\t' '{printf "%-14s%s\n", $$1, $$2}'

# go-version says in one line which Go is needed, before a build fails on
# the go line of go.mod with a message about toolchains.
go-version:
	@v=$$($(GO) env GOVERSION 2>/dev/null | sed 's/^go//'); \
	if [ -z "$$v" ]; then echo "zt-lab needs Go $(GO_MIN) or newer and found no '$(GO)': install it from https://go.dev/dl and put it on PATH, or run make GO=/path/to/go"; exit 2; fi; \
	case "$$v" in devel*) exit 0;; esac; \
	if [ "$$(printf '%s\n%s\n' $(GO_MIN) "$$v" | sort -V | head -n 1)" != "$(GO_MIN)" ]; then \
		echo "zt-lab needs Go $(GO_MIN) or newer, and '$(GO)' is go$$v: install a newer one from https://go.dev/dl, or run make GO=/path/to/go"; exit 2; fi

# COMMIT is stamped into zt-lab for `zt-lab version` (the go command's own
# stamp is missing in a git worktree); a + marks uncommitted changes.
COMMIT := $(shell git rev-parse HEAD 2>/dev/null)$(shell test -n "$$(git status --porcelain 2>/dev/null)" && echo +)

build: go-version ## build bin/zt-lab
	$(GO) build -trimpath -ldflags "-X main.commit=$(COMMIT)" -o $(ZTLAB) ./cmd/zt-lab

consul: go-version $(CONSUL) ## build bin/consul from Consul's Go packages (once, ~5 min)

# consul-or-found skips the build when the lab's own consul is already
# there: bin/consul, or $$ZTLAB_CONSUL or consul on PATH whose version says
# +ztlab.fast at CONSUL_MIN or newer (zt-lab looks in the same places). A
# stock consul runs, but does not keep the walkthrough's promises: its
# leader failover takes 2 s instead of 1, its leaves are re-issued up to
# 30 s after a CA rotation, and its proxy can lose a fetch while the
# leader is down (tools/consul/fastraft.sh), so it is built instead.
consul-or-found:
	@if [ -x $(CONSUL) ]; then exit 0; fi; \
	c=$${ZTLAB_CONSUL:-$$(command -v consul 2>/dev/null)}; \
	v=$$([ -n "$$c" ] && "$$c" version 2>/dev/null | sed -n '1s/^Consul v\([0-9.]*\)+ztlab\.fast$$/\1/p'); \
	if [ -n "$$v" ] && [ "$$(printf '%s\n%s\n' $(CONSUL_MIN) "$$v" | sort -V | head -n 1)" = "$(CONSUL_MIN)" ]; then \
		echo "Using the lab's consul $$v at $$c"; \
	else \
		$(MAKE) --no-print-directory consul; \
	fi

# Raft's base timings are halved, the leaf re-issue jitter after a CA
# rotation is 1 s, and the built-in proxy finds its upstream in its
# agent's cache in the lab's consul: tools/consul/fastraft.sh says why.
# The patched copies of raft and consul live in a temporary directory.
$(CONSUL): tools/consul/go.mod tools/consul/go.sum tools/consul/main.go tools/consul/fastraft.sh
	@echo "Building consul from HashiCorp's Go packages (first time only, about 5 minutes) ..."
	cd tools/consul && ov=$$(mktemp -d) && GO=$(GO) ./fastraft.sh $$ov && \
	$(GO) build -trimpath -modfile $$ov/go.mod \
		-ldflags "-s -w -X github.com/hashicorp/consul/version.VersionMetadata=ztlab.fast" \
		-o ../../$(CONSUL) . ; st=$$?; rm -rf $$ov; exit $$st

# consul-linux cross-builds the same patched consul for Linux hosts of
# processor GOARCH (default amd64) into bin/consul-linux-GOARCH: what a
# Mac's zt-lab copies to SSH hosts and Metal devices, since a Mac's `make
# consul` builds a Mac consul. zt-lab finds it in bin/ or beside itself
# (or --remote-consul FILE). As slow as make consul.
CONSUL_GOARCH := $(or $(GOARCH),amd64)

consul-linux: go-version $(BIN)/consul-linux-$(CONSUL_GOARCH) ## build bin/consul-linux-ARCH for Linux hosts, as a Mac controller needs (GOARCH=arm64: for arm hosts; ~5 min)

$(BIN)/consul-linux-%: tools/consul/go.mod tools/consul/go.sum tools/consul/main.go tools/consul/fastraft.sh
	@echo "Building consul for linux/$* from HashiCorp's Go packages (about 5 minutes) ..."
	cd tools/consul && ov=$$(mktemp -d) && GO=$(GO) ./fastraft.sh $$ov && \
	GOOS=linux GOARCH=$* $(GO) build -trimpath -modfile $$ov/go.mod \
		-ldflags "-s -w -X github.com/hashicorp/consul/version.VersionMetadata=ztlab.fast" \
		-o ../../$@ . ; st=$$?; rm -rf $$ov; exit $$st

deps: ## install the Debian packages the lab and tests use (asks sudo if needed)
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test-deps: deps ## install what the tests add (sshd, nft, sudo, tshark, tcpdump), starting no service
	@missing=""; for p in $(TEST_DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing$$missing (no service is started)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		rc=/usr/sbin/policy-rc.d; own=; \
		if [ ! -e $$rc ]; then printf '#!/bin/sh\nexit 101\n' | $$SUDO tee $$rc >/dev/null && $$SUDO chmod 755 $$rc && own=1; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; st=$$?; \
		[ -n "$$own" ] && $$SUDO rm -f $$rc; exit $$st; \
	fi

demo: build consul-or-found deps ## build what is needed and open the guided lab (sudo where user namespaces are restricted)
	./$(ZTLAB)

# The packages that run whole Consul clusters go one at a time: two
# clusters electing leaders at once on two cores measure each other.
LAB_PKGS := ./mesh/integration ./e2e/...

# CROSS are the systems the controller must build for: the local lab is
# Linux's, but the TUI, the headless run, the recorder and the ssh and
# equinix providers run on a presenter's Mac too (and Windows builds).
CROSS := darwin/arm64 darwin/amd64 windows/amd64

cross: go-version ## build zt-lab for macOS and Windows (the output is thrown away)
	@out=$$(mktemp -d) && trap 'rm -rf "$$out"' EXIT && for t in $(CROSS); do \
		echo "go build ./cmd/zt-lab for $$t"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -o "$$out/zt-lab" ./cmd/zt-lab || exit 1; \
	done

# DIST are the builds make dist writes: the Linux ones a Mac's zt-lab
# copies to SSH hosts (--remote-binary, or found beside it), and the Macs'.
DIST := linux/amd64 linux/arm64 darwin/arm64 darwin/amd64

dist: go-version ## build zt-lab for Linux and macOS into dist/zt-lab-OS-ARCH
	@mkdir -p dist && for t in $(DIST); do \
		echo "dist/zt-lab-$${t%/*}-$${t#*/}"; \
		GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) build -trimpath -ldflags "-X main.commit=$(COMMIT)" \
			-o "dist/zt-lab-$${t%/*}-$${t#*/}" ./cmd/zt-lab || exit 1; \
	done

test: build cross consul test-deps ## vet, cross-build, then every test for real (as root in CI), then bounded fuzzing
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 10m $$($(GO) list ./... | grep -v -e /mesh/integration -e /e2e)
	$(GO) test -count=1 -timeout 15m -p 1 $(LAB_PKGS)
	$(MAKE) --no-print-directory fuzz

fuzz: ## run every fuzz target for $(FUZZTIME)
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; \
			out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || { \
				echo "$$out" | grep -v '^fuzz: elapsed' | tail -20; \
				echo "$$out" | grep -q 'Failing input written to' && exit 1; \
				echo "  no failing input was found: Go's fuzzer fails now and then at the end of -fuzztime (golang/go#51484, #56238); once more"; \
				out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg 2>&1) || { echo "$$out" | grep -v '^fuzz: elapsed' | tail -40; exit 1; }; \
			}; \
		done; \
	done

bench: build consul test-deps ## Go benchmarks of the hot paths, then every figure of the lab (zt-lab bench)
	$(GO) test -run '^$$' -bench . -benchmem ./sniffer ./tui ./fortune ./infra/local
	./$(ZTLAB) bench --runs $(RUNS)
	$(GO) test -run '^$$' -bench WalkthroughSSHVsLocal -benchtime $(RUNS)x -timeout 60m ./e2e/ssh
	$(GO) test -run '^$$' -bench TheRoom -benchtime 1x -timeout 30m ./e2e/serve

lint: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

clean: ## remove built binaries (keeps bin/consul: `rm bin/consul` to rebuild it)
	rm -f $(ZTLAB)
