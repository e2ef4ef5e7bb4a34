# Shared helpers of the engine suites (conformance/clients/*.sh): checks, an OCI image made
# from the fixture busybox rootfs, and cleanup of everything a suite started.
# Sourced; expects RUNTIME (the runtime binary under test) and MAKE_BUNDLE (make-bundle).

set -uo pipefail

passed=0
failed=0
suite=${suite:-client}

# check NAME CMD...: runs CMD, counts it passed when it exits 0.
check() {
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		echo "ok   $suite: $name"
	else
		failed=$((failed + 1))
		echo "FAIL $suite: $name" >&2
	fi
}

# equal WANT GOT: true when both are equal, else says what differs.
equal() {
	[ "$1" = "$2" ] && return 0
	echo "     want: $1" >&2
	echo "     got:  $2" >&2
	return 1
}

# contains HAYSTACK NEEDLE
contains() {
	case $1 in *"$2"*) return 0 ;; esac
	echo "     no '$2' in: $1" >&2
	return 1
}

# summary: prints the counts, exits non-zero when a check failed.
summary() {
	echo "$suite: $passed passed, $failed failed (runtime: $RUNTIME)"
	[ "$failed" = 0 ]
}

# oci_image DIR NAME: writes DIR/image.tar, an OCI image layout archive of the fixture busybox
# rootfs (one uncompressed layer) named NAME (e.g. docker.io/library/berthtest:latest).
oci_image() {
	local dir=$1 name=$2
	mkdir -p "$dir/layout/blobs/sha256"
	"$MAKE_BUNDLE" --out "$dir/bundle" -- /bin/true >/dev/null
	tar -C "$dir/bundle/rootfs" --numeric-owner -cf "$dir/layer.tar" .
	local layer config manifest
	layer=$(blob "$dir" "$dir/layer.tar")
	printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		"$layer" >"$dir/config.json"
	config=$(blob "$dir" "$dir/config.json")
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
		"$config" "$(stat -c %s "$dir/config.json")" "$layer" "$(stat -c %s "$dir/layer.tar")" >"$dir/manifest.json"
	manifest=$(blob "$dir" "$dir/manifest.json")
	printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
		"$manifest" "$(stat -c %s "$dir/manifest.json")" "$name" "${name##*:}" >"$dir/layout/index.json"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/layout/oci-layout"
	tar -C "$dir/layout" -cf "$dir/image.tar" .
}

# docker_archive DIR NAME: after oci_image DIR, writes DIR/docker.tar, the same image in the
# `docker save` layout that `docker load` of Docker 20.10 reads, tagged NAME.
docker_archive() {
	local dir=$1 name=$2 layer config
	layer=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
	config=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
	mkdir -p "$dir/docker/$layer"
	cp "$dir/layer.tar" "$dir/docker/$layer/layer.tar"
	cp "$dir/config.json" "$dir/docker/$config.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
		"$config" "$name" "$layer" >"$dir/docker/manifest.json"
	tar -C "$dir/docker" -cf "$dir/docker.tar" .
}

# memory_limit_of PID: the memory limit of PID's cgroup, read from the host (v1 or v2).
memory_limit_of() {
	if [ -d /sys/fs/cgroup/memory ]; then
		cat "/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" {print $3}' "/proc/$1/cgroup")/memory.limit_in_bytes"
	else
		cat "/sys/fs/cgroup$(sed -n 's/^0:://p' "/proc/$1/cgroup")/memory.max"
	fi
}

# blob DIR FILE: copies FILE into the layout's blobs, prints its sha256.
blob() {
	local sum
	sum=$(sha256sum "$2" | cut -d' ' -f1)
	cp "$2" "$1/layout/blobs/sha256/$sum"
	echo "$sum"
}

# kill_started_under DIR: kills (by pid) every process whose command line names DIR, the
# daemons and shims a suite started with its private paths, then unmounts what is left there.
kill_started_under() {
	local dir=$1 pid
	for pid in $(pgrep -f -- "$dir" || true); do
		[ "$pid" = "$$" ] || kill -9 "$pid" 2>/dev/null || true
	done
	grep -o " $dir[^ ]*" /proc/self/mountinfo 2>/dev/null | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
}
