#!/usr/bin/env bash
# Docker end to end: a private dockerd (its own data root, exec root, socket and managed
# containerd under a temp dir; no iptables, no bridge) with RUNTIME registered as the runtime
# "berth" in daemon.json, and `docker run --runtime berth` with the options people use:
# limits, read-only root, capabilities, users, a terminal, exec, stop, restart, stats, top,
# update.
#
#   RUNTIME=/path/to/berth MAKE_BUNDLE=/path/to/make-bundle conformance/clients/docker.sh
suite=docker
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"

tmp=$(mktemp -d /tmp/berth-docker.XXXXXX)
cleanup() {
	kill_started_under "$tmp"
	rm -rf "$tmp"
}
trap cleanup EXIT

cat >"$tmp/daemon.json" <<JSON
{"runtimes": {"berth": {"path": "$RUNTIME"}}, "iptables": false, "bridge": "none",
 "ip-forward": false, "ip-masq": false, "storage-driver": "vfs"}
JSON
dockerd --config-file "$tmp/daemon.json" --data-root "$tmp/data" --exec-root "$tmp/exec" \
	--pidfile "$tmp/dockerd.pid" -H "unix://$tmp/docker.sock" >"$tmp/dockerd.log" 2>&1 &
daemon=$!
for _ in $(seq 200); do [ -S "$tmp/docker.sock" ] && break; sleep 0.1; done
docker() { /usr/bin/docker -H "unix://$tmp/docker.sock" "$@"; }
for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.1; done

oci_image "$tmp/image" berthtest:latest
docker_archive "$tmp/image" berthtest:latest
check "load the fixture image" docker load -i "$tmp/image/docker.tar" >/dev/null
run=(docker run --runtime berth --network none)

out=$("${run[@]}" --rm berthtest sh -c 'echo hello; exit 3')
code=$?
check "run: output" equal hello "$out"
check "run: exit code" equal 3 "$code"

out=$("${run[@]}" --rm -m 64m --pids-limit 50 --cpus 0.5 berthtest sh -c \
	'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max')
check "--pids-limit seen inside" equal 50 "$out"
out=$("${run[@]}" --rm --read-only berthtest sh -c 'touch /x 2>&1; echo rc=$?')
check "--read-only: the root is read-only" contains "$out" "Read-only file system"
out=$("${run[@]}" --rm --cap-drop ALL --cap-add NET_BIND_SERVICE berthtest sh -c 'grep CapEff /proc/self/status')
check "--cap-drop ALL --cap-add NET_BIND_SERVICE" contains "$out" 0000000000000400
out=$("${run[@]}" --rm --user 1234:5678 berthtest id)
check "--user" contains "$out" "uid=1234"
out=$(script -qec "/usr/bin/docker -H unix://$tmp/docker.sock run --runtime berth --network none --rm -t berthtest tty" /dev/null </dev/null)
check "run -t: a terminal" contains "$out" /dev/pts/0
out=$("${run[@]}" --rm --init berthtest sh -c 'cat /proc/1/cmdline | tr "\0" " "')
check "--init: docker-init is pid 1" contains "$out" init

id=$("${run[@]}" -d --name long -m 64m berthtest sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done')
check "run -d: running" equal true "$(docker inspect -f '{{.State.Running}}' long)"
check "exec: output" equal in-exec "$(docker exec long sh -c 'echo in-exec')"
docker exec long sh -c 'exit 6'
check "exec: exit code" equal 6 "$?"
check "top lists the process" contains "$(docker top long)" sleep
check "stats --no-stream" contains "$(docker stats --no-stream --format '{{.Name}} {{.MemUsage}}' long)" long
check "update --memory" docker update -m 96m --memory-swap 192m long >/dev/null
check "update reached the cgroup" equal $((96 << 20)) "$(memory_limit_of "$(docker inspect -f '{{.State.Pid}}' long)")"
started=$SECONDS
docker stop -t 10 long >/dev/null
check "stop: SIGTERM ends it at once" test $((SECONDS - started)) -lt 5
check "stop: exit code 0 (the trap)" equal 0 "$(docker inspect -f '{{.State.ExitCode}}' long)"
check "restart" docker restart -t 1 long >/dev/null
check "restart: running again" equal true "$(docker inspect -f '{{.State.Running}}' long)"
check "rm -f" docker rm -f long >/dev/null
check "no containers left" equal "" "$(docker ps -aq)"
check "no runtime state left" equal "" "$(ls "$tmp/exec/runtime-berth/moby" 2>/dev/null)"

kill "$daemon"
wait "$daemon" 2>/dev/null
summary
