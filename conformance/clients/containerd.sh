#!/usr/bin/env bash
# containerd end to end: a private containerd (its own root, state and socket under a temp
# dir) runs the fixture image through its runc shim with RUNTIME as the runc binary
# (`ctr run --runc-binary`, what `BinaryName` does in config.toml), and checks what containerd
# sees: exit codes, a terminal, exec, pause/resume, a memory limit, metrics, kill, delete.
#
#   RUNTIME=/path/to/berth MAKE_BUNDLE=/path/to/make-bundle conformance/clients/containerd.sh
suite=containerd
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

tmp=$(mktemp -d /tmp/berth-containerd.XXXXXX)
# containerd names each container's cgroup /<namespace>/<id>: the namespace is this run's own,
# and its parent cgroup (which the runtime creates and, like runc, leaves) goes at the end.
ns=berthtest-$$
image=docker.io/library/berthtest:latest
cleanup() {
	kill_started_under "$tmp"
	find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d -name "$ns" -exec rmdir {} + 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/config.toml" <<TOML
version = 2
root = "$tmp/root"
state = "$tmp/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$tmp/containerd.sock"
[ttrpc]
  address = "$tmp/containerd.sock.ttrpc"
TOML
containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do [ -S "$tmp/containerd.sock" ] && break; sleep 0.1; done
ctr() { command ctr --address "$tmp/containerd.sock" --namespace "$ns" "$@"; }
run_flags=(--runc-binary "$RUNTIME" --runc-root "$tmp/runc")

oci_image "$tmp/image" "$image"
check "import the fixture image" ctr images import "$tmp/image/image.tar" >/dev/null

out=$(ctr run --rm "${run_flags[@]}" "$image" c-exit /bin/sh -c 'echo hello; exit 3')
code=$?
check "run: output" equal hello "$(echo "$out" | tr -d '\r')"
check "run: exit code seen by containerd" equal 3 "$code"

out=$(script -qec "ctr --address $tmp/containerd.sock --namespace $ns run --rm -t --runc-binary $RUNTIME --runc-root $tmp/runc $image c-tty /bin/sh -c 'tty; exit 5'" /dev/null </dev/null)
code=$?
check "run -t: a terminal" contains "$out" /dev/pts/
check "run -t: exit code" equal 5 "$code"

ctr run -d "${run_flags[@]}" --memory-limit 33554432 "$image" c-long /bin/sh -c 'sleep 300' >/dev/null
check "run -d: task running" contains "$(ctr task ls)" RUNNING
pid=$(ctr task ls | awk '$1 == "c-long" {print $2}')
out=$(ctr task exec --exec-id e1 c-long /bin/sh -c 'echo in-exec; exit 4')
code=$?
check "exec: output" equal in-exec "$(echo "$out" | tr -d '\r')"
check "exec: exit code seen by containerd" equal 4 "$code"
exec_ns=$(ctr task exec --exec-id e2 c-long readlink /proc/self/ns/pid | tr -d '\r')
check "exec: in the container's pid namespace" equal "$(readlink "/proc/$pid/ns/pid")" "$exec_ns"
limit=$(memory_limit_of "$pid")
check "memory limit applied" equal 33554432 "$limit"
check "metrics" contains "$(ctr task metrics c-long)" memory
ctr task pause c-long
check "pause: containerd sees PAUSED" contains "$(ctr task ls)" PAUSED
ctr task resume c-long
check "resume: RUNNING again" contains "$(ctr task ls | awk '$1 == "c-long"')" RUNNING
ctr task kill -s SIGKILL c-long
for _ in $(seq 50); do ctr task ls | grep -q 'c-long.*STOPPED' && break; sleep 0.1; done
check "kill: STOPPED" contains "$(ctr task ls | awk '$1 == "c-long"')" STOPPED
check "task delete" ctr task rm c-long >/dev/null
check "container delete" ctr containers rm c-long
check "no runtime state left" equal "" "$(ls "$tmp/runc/$ns" 2>/dev/null)"

kill "$daemon"
wait "$daemon" 2>/dev/null
summary
