#!/usr/bin/env bash
# Bridge networking, by hand: `make demo-network` runs this. Everything happens in a network
# namespace of its own (nothing touches this machine's interfaces or firewall) and a temp dir:
# a server container on a CNI bridge with port 8080 published, reached from the "host" side
# and from a second container, then deleted with nothing left behind.
# Needs root, jq, and Debian's containernetworking-plugins and iptables.
set -euo pipefail
berth=$1 make_bundle=$2
if [ -z "${BERTH_DEMO_NETNS:-}" ]; then
	exec unshare --net env BERTH_DEMO_NETNS=1 "$0" "$@"
fi
ip link set lo up
tmp=$(mktemp -d /tmp/berth-bridge-demo.XXXXXX)
root=$tmp/root
cleanup() {
	"$berth" --root "$root" delete --force web >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
show() { echo "+ $*" | sed "s|$tmp|\$tmp|g; s|$berth|berth|g"; "$@"; }

# Two bundles from `berth spec --network bridge` and make-bundle's busybox root filesystem.
"$make_bundle" --out "$tmp/fixture" -- true >/dev/null
bundle() { # name publish-args... : config.json + network.conflist, the program set with jq
	local dir=$tmp/$1 program=$2
	shift 2
	mkdir "$dir"
	cp -a "$tmp/fixture/rootfs" "$dir/"
	show "$berth" --root "$root" spec --bundle "$dir" --network bridge "$@"
	jq --arg p "$program" '.process.terminal = false | .process.args = ["/bin/sh", "-c", $p]' \
		"$dir/config.json" >"$dir/config.tmp" && mv "$dir/config.tmp" "$dir/config.json"
	# Leases in the demo's temp dir rather than /var/lib/cni/networks.
	jq --arg d "$tmp/ipam" '.plugins[0].ipam.dataDir = $d' "$dir/network.conflist" >"$dir/n.tmp" &&
		mv "$dir/n.tmp" "$dir/network.conflist"
}
bundle web 'exec nc -ll -p 80 -e echo hello from the web container' --publish 8080:80
bundle client 'ip -o -4 addr show eth0; nc 10.89.0.2 80 </dev/null'

show "$berth" --root "$root" run -d --init --bundle "$tmp/web" web
show "$berth" --root "$root" exec web ps
show jq -c '.result.ips' "$root/web/network.json"
sleep 0.2
echo "--- the published port, from the host side:"
show busybox nc 10.89.0.1 8080 </dev/null
echo "--- from a second container on the bridge:"
show "$berth" --root "$root" run --bundle "$tmp/client" client
show "$berth" --root "$root" delete --force web
echo "--- left: the bridge, no veth; no address lease:"
echo "+ ip -o link show"
ip -o link show | cut -d' ' -f2
show ls "$tmp/ipam/berth"
