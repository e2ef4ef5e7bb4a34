#!/usr/bin/env bash
# Podman end to end: `podman --runtime RUNTIME` with its own storage, run root and temp dir
# under a temp dir (cgroupfs manager, file events, no network), running the fixture busybox
# rootfs with `--rootfs`: run, exit codes, a terminal, exec, stop, rm.
#
# This host caps RLIMIT_NOFILE (20000) and RLIMIT_NPROC, and berth (like runc) runs without
# CAP_SYS_RESOURCE, so Podman's defaults (nofile 1048576, a large nproc) fail with any runtime:
# every run passes small explicit --ulimit nofile and nproc values.
#
#   RUNTIME=/path/to/berth MAKE_BUNDLE=/path/to/make-bundle conformance/clients/podman.sh
suite=podman
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

tmp=$(mktemp -d /tmp/berth-podman.XXXXXX)
cleanup() {
	podman rm -af -t 0 >/dev/null 2>&1
	kill_started_under "$tmp"
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/tmp"
podman() {
	command podman --runtime "$RUNTIME" --root "$tmp/storage" --runroot "$tmp/run" \
		--tmpdir "$tmp/tmp" --cgroup-manager cgroupfs --events-backend file "$@"
}
"$MAKE_BUNDLE" --out "$tmp/bundle" -- /bin/true >/dev/null
limits=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)
rootfs="$tmp/bundle/rootfs"
# `--rootfs PATH` goes last: the words after PATH are the command.
run() { podman run --network none "${limits[@]}" "$@"; }

out=$(run --rm --rootfs "$rootfs" sh -c 'echo hello; exit 3')
code=$?
check "run: output" equal hello "$out"
check "run: exit code" equal 3 "$code"
out=$(script -qec "$(printf '%q ' command podman --runtime "$RUNTIME" --root "$tmp/storage" \
	--runroot "$tmp/run" --tmpdir "$tmp/tmp" --cgroup-manager cgroupfs --events-backend file \
	run --network none "${limits[@]}" --rm -t --rootfs "$rootfs" tty)" /dev/null </dev/null)
check "run -t: a terminal" contains "$out" /dev/pts/0

run -d --name long --rootfs "$rootfs" sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done' >/dev/null
check "run -d: running" equal running "$(podman inspect -f '{{.State.Status}}' long)"
check "exec: output" equal in-exec "$(podman exec long sh -c 'echo in-exec')"
podman exec long sh -c 'exit 6'
check "exec: exit code" equal 6 "$?"
started=$SECONDS
podman stop -t 10 long >/dev/null
check "stop: SIGTERM ends it at once" test $((SECONDS - started)) -lt 5
check "stop: exit code 0 (the trap)" equal 0 "$(podman inspect -f '{{.State.ExitCode}}' long)"
check "rm" podman rm long >/dev/null
check "no containers left" equal "" "$(podman ps -aq)"
summary
