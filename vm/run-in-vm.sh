#!/usr/bin/env bash
# Runs a command on a pure cgroup v2 Linux, inside a small VM, and exits with its status.
#
#   vm/run-in-vm.sh [--timeout SECS] -- CMD [ARGS...]
#
# The VM (QEMU, software emulation) boots Debian's kernel with cgroup_no_v1=all, mounts
# cgroup2 alone at /sys/fs/cgroup with every controller enabled, and sees the host's / read-only
# over 9p under a tmpfs overlay, so the host's binaries run unchanged at the same paths. The
# host's systemd is the VM's PID 1 and runs CMD as a service (with D-Bus up). CMD runs as root in the current directory with RUNTIME, BERTH_PROBE, RUST_BACKTRACE and
# CONFORMANCE_THREADS passed through; its output comes back on a second serial port and its exit
# status through a shared control directory. Kernel and initramfs are cached in target/vm/.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${BERTH_VM_CACHE:-$repo/target/vm}
timeout=900

die() { echo "run-in-vm: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--timeout) timeout=$2; shift 2 ;;
	--) shift; break ;;
	*) die "usage: run-in-vm.sh [--timeout SECS] -- CMD [ARGS...]" ;;
	esac
done
[ $# -gt 0 ] || die "usage: run-in-vm.sh [--timeout SECS] -- CMD [ARGS...]"
[ "$(id -u)" = 0 ] || die "must run as root (the VM shares the host's / with root's view)"

# ---- what the VM needs, installed and cached once
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "run-in-vm: installing qemu-system-x86" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-x86 >&2 ||
		die "cannot install qemu-system-x86"
fi
[ -x /bin/busybox ] || die "/bin/busybox (Debian's busybox-static) is missing"
mkdir -p "$cache"
kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -n 1) || true
if ! ls "$cache"/kernel/boot/vmlinuz-* >/dev/null 2>&1; then
	[ -n "$kernel_pkg" ] || die "cannot find Debian's kernel package (run apt-get update)"
	echo "run-in-vm: fetching $kernel_pkg (once)" >&2
	(cd "$cache" && apt-get download "$kernel_pkg" >/dev/null 2>&1) || die "apt-get download $kernel_pkg failed"
	dpkg -x "$cache"/"$kernel_pkg"_*.deb "$cache/kernel" || die "cannot unpack $kernel_pkg"
	rm -f "$cache"/"$kernel_pkg"_*.deb
fi
vmlinuz=$(ls "$cache"/kernel/boot/vmlinuz-* | head -n 1)
modules=$(ls -d "$cache"/kernel/lib/modules/* | head -n 1)
initramfs=$cache/initramfs.cpio.gz
if [ ! -s "$initramfs" ] || [ "$here/guest-init" -nt "$initramfs" ]; then
	staging=$(mktemp -d)
	mkdir -p "$staging"/{bin,modules,proc,sys,dev,host,ctl,newroot,ovl}
	cp /bin/busybox "$staging/bin/busybox"
	for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
		9pnet 9pnet_virtio netfs fscache 9p overlay loop bfq; do
		ko=$(find "$modules" -name "$m.ko" | head -n 1)
		[ -n "$ko" ] || die "kernel module $m.ko not found in $modules"
		cp "$ko" "$staging/modules/"
	done
	install -m 0755 "$here/guest-init" "$staging/init"
	(cd "$staging" && find . | /bin/busybox cpio -o -H newc 2>/dev/null | gzip -1 >"$initramfs.tmp")
	mv "$initramfs.tmp" "$initramfs"
	rm -rf "$staging"
fi

# ---- one run
ctl=$(mktemp -d /tmp/berth-vm.XXXXXX)
qemu_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null || true
	rm -rf "$ctl"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

{
	echo "cd $(printf '%q' "$PWD")"
	for var in RUNTIME BERTH_PROBE RUST_BACKTRACE CONFORMANCE_THREADS; do
		[ -n "${!var:-}" ] && echo "export $var=$(printf '%q' "${!var}")"
	done
	printf '%q ' "$@"
	echo
} >"$ctl/cmd.sh"

qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -nodefaults -display none -no-reboot \
	-kernel "$vmlinuz" -initrd "$initramfs" \
	-append "console=ttyS0 quiet panic=-1 cgroup_no_v1=all rdinit=/init" \
	-serial file:"$ctl/console.log" -serial file:"$ctl/output.log" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on \
	-virtfs local,path="$ctl",mount_tag=ctl,security_model=none \
	</dev/null >"$ctl/qemu.log" 2>&1 &
qemu_pid=$!

# Stream the command's output while the VM runs.
touch "$ctl/output.log"
tail -n +1 -f "$ctl/output.log" --pid="$qemu_pid" &
deadline=$((SECONDS + timeout))
while kill -0 "$qemu_pid" 2>/dev/null; do
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "run-in-vm: timed out after ${timeout}s; console:" >&2
		tail -n 30 "$ctl/console.log" >&2
		exit 124
	fi
	sleep 0.5
done
wait "$qemu_pid" || true
qemu_pid=
sleep 0.2
if [ ! -s "$ctl/rc" ]; then
	echo "run-in-vm: the VM stopped without reporting an exit status; console and qemu:" >&2
	tail -n 40 "$ctl/console.log" >&2
	cat "$ctl/qemu.log" >&2
	exit 1
fi
exit "$(cat "$ctl/rc")"
