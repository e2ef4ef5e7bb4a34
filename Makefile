# berth: an OCI container runtime in Rust, a drop-in replacement for runc.
#
#   make build         static release binaries in target/<triple>/release/
#   make demo          build, then run a hello-world container with berth (root)
#   make demo-network  bridge networking over CNI, in a network namespace of its own (root)
#   make test          unit tests, then the conformance suite against berth (root)
#   make conformance   only the end-to-end suite; RUNTIME=/usr/sbin/runc to test runc
#   make vm-check      the cgroup tests inside a pure cgroup v2 VM (QEMU, root)
#   make clients       containerd, Docker and Podman end to end with RUNTIME (root)
#   make lint          rustfmt --check and clippy -D warnings
#   make bench         berth vs runc vs crun timings (bench/bench.sh, root)
#   make install       copy berth and berth-init to $(PREFIX)/bin (default /usr/local)
#   make clean
#
# Debug or release: the binaries under test (berth, berth-probe, make-bundle) are
# always the static release build from `make build`, the thing we ship. The test
# harnesses (unit tests and the conformance crate) are built once, in the debug
# profile, for the host, so no test binary goes through the release profile's LTO.
# (`cargo test -p conformance` recompiles a handful of dependencies, ~15 s: cargo
# unifies features over the selected packages, so they differ from the unit-test
# run's. That is cargo's doing, not a second build of ours.)

SHELL := /bin/bash

TARGET ?= $(shell rustc -vV | sed -n 's/^host: //p')
TARGET := $(TARGET)
CARGO ?= cargo
CARGO_TARGET_DIR ?= $(CURDIR)/target
BIN_DIR := $(CARGO_TARGET_DIR)/$(TARGET)/release

# Static release binaries (glibc, +crt-static).
BERTH := $(BIN_DIR)/berth
BERTH_INIT := $(BIN_DIR)/berth-init
BERTH_PROBE := $(BIN_DIR)/berth-probe
MAKE_BUNDLE := $(BIN_DIR)/make-bundle
export BERTH BERTH_PROBE

STATIC_RUSTFLAGS := -C target-feature=+crt-static
RELEASE_BUILD := RUSTFLAGS="$(STATIC_RUSTFLAGS)" $(CARGO) build --release --target $(TARGET)

# The runtime the conformance suite drives; any runc-compatible binary works.
RUNTIME ?= $(BERTH)
# A bare name (RUNTIME=runc) is looked up in PATH.
override RUNTIME := $(if $(findstring /,$(RUNTIME)),$(RUNTIME),$(or $(shell command -v $(RUNTIME)),$(RUNTIME)))
# End-to-end tests spawn containers: keep it to the machine's cores.
CONFORMANCE_THREADS ?= $(shell nproc 2>/dev/null || echo 2)
# Extra arguments for bench/bench.sh, e.g. BENCH_ARGS="--runs 10".
BENCH_ARGS ?=
PREFIX ?= /usr/local

.DEFAULT_GOAL := build
.PHONY: build build-fixtures busybox test-deps demo demo-network test unit conformance vm-check clients lint bench install clean help

help:
	@sed -n '3,12p' $(firstword $(MAKEFILE_LIST)) | sed 's/^# \{0,1\}//'

build:
	$(RELEASE_BUILD) --workspace
	@echo "built: $(BERTH) $(BERTH_INIT) $(BERTH_PROBE) $(MAKE_BUNDLE)"

# Only the fixtures (probe + make-bundle), for testing another runtime.
build-fixtures:
	$(RELEASE_BUILD) -p bundle-fixtures

# Test rootfs are made from Debian's static busybox.
busybox:
	@if [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; then :; else \
		echo "make: /bin/busybox (static) is missing; installing Debian's busybox-static with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static; \
	fi

# What the other tests use, as COMMAND-or-/PATH:PACKAGE; `make test` installs the Debian
# packages of those missing (the network tests: ip, iptables, CNI plugins; vm-check: QEMU,
# systemd, D-Bus; clients: the engines; runc for comparisons).
TEST_DEPS := ip:iproute2 iptables:iptables /usr/lib/cni/bridge:containernetworking-plugins \
	qemu-system-x86_64:qemu-system-x86 systemctl:systemd dbus-daemon:dbus runc:runc \
	containerd:containerd dockerd:docker.io podman:podman

test-deps: busybox
	@missing=; for dep in $(TEST_DEPS); do what=$${dep%%:*}; \
		case $$what in /*) [ -e "$$what" ] ;; *) command -v "$$what" >/dev/null ;; esac || missing="$$missing $${dep#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make: installing Debian packages the tests use:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

demo: build busybox
	@[ "$$(id -u)" = 0 ] || { echo "make demo: berth needs root for now (rootless comes later); run it as root" >&2; exit 1; }
	@set -e; \
	tmp=$$(mktemp -d /tmp/berth-demo.XXXXXX); id=demo-$$$$; \
	trap '"$(BERTH)" --root "$$tmp/root" delete --force "$$id" >/dev/null 2>&1 || true; rm -rf "$$tmp"' EXIT; \
	"$(MAKE_BUNDLE)" --out "$$tmp/bundle" --hostname berth-demo -- /bin/sh -c \
		'set -- /proc/[0-9]*; echo "Hello from berth: I am pid $$$$ on host $$(hostname), uid $$(id -u), and I see $$# process(es)."' \
		>/dev/null; \
	echo "+ berth --root $$tmp/root run -b $$tmp/bundle $$id"; \
	"$(BERTH)" --root "$$tmp/root" run -b "$$tmp/bundle" "$$id"

demo-network: build busybox
	@[ "$$(id -u)" = 0 ] || { echo "make demo-network: needs root" >&2; exit 1; }
	@command -v jq >/dev/null && [ -x /usr/lib/cni/bridge ] && command -v iptables >/dev/null || \
		{ echo "make demo-network: apt-get install jq containernetworking-plugins iptables" >&2; exit 1; }
	demo/bridge-network.sh "$(BERTH)" "$(MAKE_BUNDLE)"

test: test-deps build unit conformance vm-check clients

unit: build
	BERTH_PROBE="$(BERTH_PROBE)" $(CARGO) test --workspace --exclude conformance

# The suite needs the static probe; it needs berth only when it tests berth.
conformance: build busybox
	@[ "$$(id -u)" = 0 ] || { echo "make conformance: the end-to-end suite runs containers and needs root" >&2; exit 1; }
	@echo "conformance: RUNTIME=$(RUNTIME)"
	RUNTIME="$(RUNTIME)" BERTH_PROBE="$(BERTH_PROBE)" $(CARGO) test -p conformance -- --test-threads=$(CONFORMANCE_THREADS)

# The cgroup tests again, on a pure cgroup v2 system: a small VM (vm/run-in-vm.sh) boots
# Debian's kernel with cgroup_no_v1=all and runs the conformance binary against berth.
vm-check: build busybox
	@[ "$$(id -u)" = 0 ] || { echo "make vm-check: needs root" >&2; exit 1; }
	@suite=$$($(CARGO) test -p conformance --no-run 2>&1 | sed -n 's/.*tests\/main.rs (\(.*\))/\1/p' | head -n 1); \
	[ -n "$$suite" ] || { echo "make vm-check: cannot build the conformance suite" >&2; exit 1; }; \
	echo "vm-check: cgroup tests on pure cgroup v2 ($$suite)"; \
	RUNTIME="$(RUNTIME)" BERTH_PROBE="$(BERTH_PROBE)" vm/run-in-vm.sh --timeout 900 -- \
		"$$suite" cgroup --test-threads=1

# The engines' own daemons (Debian's containerd, docker.io, podman), each private to a temp
# dir, drive RUNTIME as runc: conformance/clients/*.sh.
clients: $(if $(filter $(BERTH),$(RUNTIME)),build,build-fixtures) busybox
	@[ "$$(id -u)" = 0 ] || { echo "make clients: the engines need root" >&2; exit 1; }
	@for engine in containerd docker podman; do \
		command -v $$engine >/dev/null || { echo "make clients: $$engine is missing (apt-get install containerd docker.io podman)" >&2; exit 1; }; \
	done
	@rc=0; for suite in containerd docker podman; do \
		RUNTIME="$(RUNTIME)" MAKE_BUNDLE="$(MAKE_BUNDLE)" bash conformance/clients/$$suite.sh || rc=1; \
	done; exit $$rc

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench: build
	BERTH="$(BERTH)" MAKE_BUNDLE="$(MAKE_BUNDLE)" bash bench/bench.sh $(BENCH_ARGS)

install: build
	install -D -m 0755 "$(BERTH)" "$(DESTDIR)$(PREFIX)/bin/berth"
	install -D -m 0755 "$(BERTH_INIT)" "$(DESTDIR)$(PREFIX)/bin/berth-init"

clean:
	$(CARGO) clean
