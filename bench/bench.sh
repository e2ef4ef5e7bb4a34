#!/usr/bin/env bash
# Side-by-side timing of berth, runc and crun, in one run, with hyperfine:
#   (a) `run` of a bundle whose process is /bin/true, in the foreground;
#   (b) `create` + `start` + wait until stopped + `delete` of the same bundle
#       (bench/lifecycle.sh, one container per iteration).
# Also: the peak RSS of each runtime's `create` (GNU time) and the binary sizes.
#
# usage: bench/bench.sh [--runs N] [--warmup N] [--rss-runs N] [--out DIR]
#   env: BERTH=path/to/berth   (default target/<host triple>/release/berth)
#        MAKE_BUNDLE=path      (default next to berth; falls back to `runc spec`)
#        RUNS, WARMUP, RSS_RUNS, BENCH_OUT   (same as the flags)
#
# Results: printed at the end, and written to target/bench/ (run.{md,json,csv},
# lifecycle.{md,json,csv}, summary.md).
#
# Needs root. Each runtime gets its own private --root under a temp dir, every
# container id is unique to this run, and an EXIT trap deletes every container,
# cgroup, mount and temp dir the run made. A runtime that is missing or fails a
# smoke test is skipped with a message (so this works before berth does).
#
# Host quirk: crun 1.8 refuses a hybrid cgroup host while cgroup2 holds a
# controller ("cgroups in hybrid mode not supported"). If crun fails that way and
# hugetlb is the one held by /sys/fs/cgroup/unified, the script mounts a v1
# hugetlb hierarchy at /sys/fs/cgroup/hugetlb for the run (all three runtimes are
# then measured on the same setup) and undoes it on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
RSS_RUNS=${RSS_RUNS:-5}
OUT=${BENCH_OUT:-$repo/target/bench}

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--warmup) WARMUP=$2; shift 2 ;;
	--rss-runs) RSS_RUNS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done

log() { printf '[bench] %s\n' "$*"; }
warn() { printf '[bench] WARNING: %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (containers need namespaces, mounts and cgroups)"

# ---------------------------------------------------------------- tools
static_busybox() { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; }
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
command -v runc >/dev/null || missing+=(runc)
command -v crun >/dev/null || missing+=(crun)
[ -x /usr/bin/time ] || missing+=(time)
static_busybox || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing missing packages with apt-get: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

host=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p' || true)
bindir=$repo/target/${host:-unknown}/release
BERTH=${BERTH:-$bindir/berth}
MAKE_BUNDLE=${MAKE_BUNDLE:-$(dirname "$BERTH")/make-bundle}

# ---------------------------------------------------------------- cleanup
tag="bench$$"                   # prefix of every container id (and so cgroup) this run makes
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
bundle=$work/bundle
hugetlb=/sys/fs/cgroup/hugetlb
hugetlb_mounted=0
hugetlb_made_dir=0
declare -A RT=()                # name -> binary, for every runtime that got a root
names_all=(berth runc crun)

delete_all() { # name: delete every container in that runtime's private root
	local rt=${RT[$1]} root=$work/root-$1 id ids
	[ -d "$root" ] || return 0
	ids=$("$rt" --root "$root" list -q 2>/dev/null || true)
	for id in $ids $(cd "$root" && ls -1 2>/dev/null); do
		case $id in "$tag"-*) ;; *) continue ;; esac
		"$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
	done
}

remove_cgroups() { # the cgroups named after our containers, if a runtime left any
	local d
	while IFS= read -r d; do
		[ -d "$d" ] || continue
		find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r p; do
			kill -9 "$p" 2>/dev/null || true
		done
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || warn "could not remove cgroup $d"
		[ -d "$d" ] || log "removed leftover cgroup $d"
	done < <(find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name "$tag-*" 2>/dev/null)
}

hugetlb_on_v1() { # the kernel still has a v1 hugetlb hierarchy (mounted or not)
	[ "$(awk '$1 == "hugetlb" { print $2 }' /proc/cgroups)" != 0 ]
}

undo_hugetlb() {
	[ "$hugetlb_mounted" = 1 ] || return 0
	local d try
	# A v1 hierarchy unmounted while it still has (even dying) child cgroups lives on
	# hidden and keeps hugetlb away from cgroup2. Containers' cgroups die only once
	# their exited processes are reaped, so: remove the children, unmount, and if
	# the hierarchy is still there, wait, mount it again and repeat.
	for try in $(seq 20); do
		if [ "$try" -gt 1 ]; then
			[ "$try" = 2 ] && log "hugetlb is still held by exited container processes; waiting for them to be reaped"
			sleep 1
			mount -t cgroup -o hugetlb cgroup "$hugetlb" || break
		fi
		while IFS= read -r d; do
			if rmdir "$d"; then log "removed cgroup $d"; else warn "could not rmdir $d"; fi
		done < <(find "$hugetlb" -mindepth 1 -depth -type d 2>/dev/null)
		if ! umount "$hugetlb"; then
			warn "could not unmount $hugetlb: undo by hand with 'umount $hugetlb'"
			return 0
		fi
		sleep 0.2
		hugetlb_on_v1 || break
	done
	hugetlb_mounted=0
	log "unmounted the v1 hugetlb hierarchy at $hugetlb"
	if [ "$hugetlb_made_dir" = 1 ]; then
		rmdir "$hugetlb" && log "removed $hugetlb"
	fi
	if hugetlb_on_v1; then
		warn "the kernel still keeps a hidden v1 hugetlb hierarchy; to return hugetlb to cgroup2 later:"
		warn "  mkdir -p $hugetlb && mount -t cgroup -o hugetlb cgroup $hugetlb && umount $hugetlb && rmdir $hugetlb"
	else
		log "hugetlb is back in cgroup2 (/sys/fs/cgroup/unified)"
	fi
}

descendants() { # pid: every process below it, parents first
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

hf_pid=""
stop_hyperfine() { # if interrupted mid-benchmark: stop hyperfine and what it runs
	[ -n "$hf_pid" ] || return 0
	local kids
	kids=$(descendants "$hf_pid")
	kill -KILL "$hf_pid" 2>/dev/null
	# shellcheck disable=SC2086 # a list of pids
	[ -n "$kids" ] && kill -KILL $kids 2>/dev/null
	wait "$hf_pid" 2>/dev/null
	log "interrupted: stopped hyperfine (pid $hf_pid) and the commands it was running"
	hf_pid=""
}

cleanup() {
	local rc=$? name
	set +e
	trap - EXIT INT TERM
	stop_hyperfine
	for name in "${!RT[@]}"; do delete_all "$name"; done
	remove_cgroups
	undo_hugetlb
	if grep -q " $work" /proc/self/mountinfo; then
		warn "mounts left under $work; not removing it"
		grep " $work" /proc/self/mountinfo >&2
	else
		rm -rf "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- bundle
if [ -x "$MAKE_BUNDLE" ] && "$MAKE_BUNDLE" --out "$bundle" -- /bin/true >"$work/make-bundle.log" 2>&1; then
	log "bundle: $MAKE_BUNDLE --out <tmp> -- /bin/true"
else
	[ -x "$MAKE_BUNDLE" ] && warn "make-bundle failed ($(tail -1 "$work/make-bundle.log")); using the fallback bundle"
	rm -rf "$bundle"
	mkdir -p "$bundle"/rootfs/{bin,dev,proc,sys,tmp,etc}
	cp /bin/busybox "$bundle/rootfs/bin/busybox"
	ln -s busybox "$bundle/rootfs/bin/true"
	ln -s busybox "$bundle/rootfs/bin/sh"
	runc spec --bundle "$bundle"
	sed -i -e 's/"terminal": true/"terminal": false/' \
		-e 's|^\([[:space:]]*\)"sh"$|\1"/bin/true"|' "$bundle/config.json"
	grep -q '"/bin/true"' "$bundle/config.json" || die "could not set the process of the fallback bundle"
	log "bundle: fallback (static busybox rootfs + 'runc spec', process /bin/true)"
fi

# ---------------------------------------------------------------- runtimes
why() { # name: the end of a failed smoke test's output
	local t
	t=$(tail -3 "$work/smoke-$1.log" | tr '\n' ' ')
	echo "${t:-(no output; exit status non-zero)}"
}

smoke() { # name: one foreground run and one full lifecycle must succeed
	local name=$1 rt=${RT[$1]} root=$work/root-$1
	mkdir -p "$root"
	{
		timeout 30 "$rt" --root "$root" run --bundle "$bundle" "$tag-$name-smoke" &&
			timeout 30 sh "$here/lifecycle.sh" "$rt" "$root" "$bundle" "$tag-$name-smoke"
	} </dev/null >"$work/smoke-$name.log" 2>&1
	local rc=$?
	[ $rc = 0 ] || delete_all "$name"
	return $rc
}

apply_hugetlb_quirk() {
	grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || return 1
	mountpoint -q "$hugetlb" && return 1
	if [ ! -d "$hugetlb" ]; then
		mkdir "$hugetlb" || return 1
		hugetlb_made_dir=1
	fi
	if ! mount -t cgroup -o hugetlb cgroup "$hugetlb"; then
		[ "$hugetlb_made_dir" = 1 ] && rmdir "$hugetlb" && hugetlb_made_dir=0
		return 1
	fi
	hugetlb_mounted=1
	log "host quirk: crun refuses this hybrid cgroup host while cgroup2 holds hugetlb;"
	log "  mounted a v1 hugetlb hierarchy at $hugetlb for this run (undone on exit)."
	log "  All runtimes below are measured with this setup."
}

active=()
version() { "$1" --version 2>/dev/null | sed -n 1p || echo "unknown version"; }
if command -v crun >/dev/null; then
	RT[crun]=$(command -v crun)
	if ! smoke crun; then
		if grep -q 'hybrid mode not supported' "$work/smoke-crun.log" && apply_hugetlb_quirk && smoke crun; then
			:
		else
			warn "crun fails here, skipping it: $(why crun)"
			unset 'RT[crun]'
		fi
	fi
fi
if command -v runc >/dev/null; then
	RT[runc]=$(command -v runc)
	smoke runc || { warn "runc fails here, skipping it: $(why runc)"; unset 'RT[runc]'; }
fi
if [ -x "$BERTH" ]; then
	RT[berth]=$BERTH
	smoke berth || {
		warn "berth fails the smoke test, skipping its column: $(why berth)"
		unset 'RT[berth]'
	}
else
	warn "no berth binary at $BERTH (run 'make build' or set BERTH=); skipping its column"
fi
for name in "${names_all[@]}"; do
	[ -n "${RT[$name]:-}" ] && active+=("$name") && log "$name: ${RT[$name]} ($(version "${RT[$name]}"))"
done
[ ${#active[@]} -gt 0 ] || die "no runtime works on this host"

# ---------------------------------------------------------------- timings
mkdir -p "$OUT"
cleanup_cmd=""
for name in "${active[@]}"; do
	cleanup_cmd+="for i in \$('${RT[$name]}' --root '$work/root-$name' list -q 2>/dev/null); do '${RT[$name]}' --root '$work/root-$name' delete --force \"\$i\" >/dev/null 2>&1; done; "
done
cleanup_cmd+="true"
hf=(hyperfine --warmup "$WARMUP" --runs "$RUNS" --time-unit millisecond --cleanup "$cleanup_cmd")

run_cmds=()
life_cmds=()
for name in "${active[@]}"; do
	rt=${RT[$name]} root=$work/root-$name
	run_cmds+=(-n "$name run" "'$rt' --root '$root' run --bundle '$bundle' $tag-$name-r-\$\$")
	life_cmds+=(-n "$name lifecycle" "sh '$here/lifecycle.sh' '$rt' '$root' '$bundle' $tag-$name-l")
done

run_hyperfine() { # in the background, so that INT/TERM reach our trap at once
	local rc=0
	"${hf[@]}" "$@" &
	hf_pid=$!
	wait "$hf_pid" || rc=$?
	hf_pid=""
	return "$rc"
}

log "(a) run of /bin/true in the foreground: $RUNS runs, $WARMUP warmup"
run_hyperfine --export-markdown "$OUT/run.md" --export-json "$OUT/run.json" --export-csv "$OUT/run.csv" "${run_cmds[@]}"
log "(b) create + start + wait until stopped + delete: $RUNS runs, $WARMUP warmup"
run_hyperfine --export-markdown "$OUT/lifecycle.md" --export-json "$OUT/lifecycle.json" --export-csv "$OUT/lifecycle.csv" "${life_cmds[@]}"

# ---------------------------------------------------------------- peak RSS of create
declare -A RSS=()
for name in "${active[@]}"; do
	rt=${RT[$name]} root=$work/root-$name peak=0
	for i in $(seq "$RSS_RUNS"); do
		if ! /usr/bin/time -f %M -o "$work/rss" "$rt" --root "$root" create --bundle "$bundle" "$tag-$name-m-$i" \
			</dev/null >/dev/null 2>&1; then
			peak=0
			break
		fi
		v=$(tail -1 "$work/rss")
		[ "$v" -gt "$peak" ] && peak=$v
		"$rt" --root "$root" delete --force "$tag-$name-m-$i" >/dev/null 2>&1 || true
	done
	if [ "$peak" -gt 0 ]; then RSS[$name]=$peak; else warn "could not measure the RSS of $name create"; fi
done

# ---------------------------------------------------------------- summary
mean() { awk -F, -v n="$2" '$1 == n { printf "%.2f", $2 * 1000 }' "$OUT/$1.csv"; }
sd() { awk -F, -v n="$2" '$1 == n { printf "%.2f", $3 * 1000 }' "$OUT/$1.csv"; }
ratio() { # a b: a/b to 2 decimals, or n/a
	if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo "n/a"; fi
}
human() { awk -v b="$1" 'BEGIN { if (b >= 1048576) printf "%.1f MiB", b / 1048576; else printf "%.0f KiB", b / 1024 }'; }
size_of() { stat -Lc %s "$1"; }
linkage() { # static, or dynamic with the size of the binary plus its shared libraries
	local libs total
	libs=$(ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
	if [ -z "$libs" ]; then echo "static"; return; fi
	total=$(( $(size_of "$1") + $(for l in $libs; do size_of "$l"; done | awk '{ s += $1 } END { print s + 0 }') ))
	echo "dynamic, $(echo "$libs" | wc -l) libs, $(human "$total") with them"
}

declare -A RUN_MS=() LIFE_MS=() SIZE=()
for name in "${active[@]}"; do
	RUN_MS[$name]=$(mean run "$name run")
	LIFE_MS[$name]=$(mean lifecycle "$name lifecycle")
done
for name in "${names_all[@]}"; do
	bin=${RT[$name]:-}
	[ -z "$bin" ] && [ "$name" = berth ] && [ -x "$BERTH" ] && bin=$BERTH
	[ -z "$bin" ] && bin=$(command -v "$name" || true)
	[ -n "$bin" ] && [ -e "$bin" ] && SIZE[$name]=$(size_of "$bin")
done

cell() { # name kind
	local n=$1
	[ -n "${RT[$n]:-}" ] || { echo "skipped"; return; }
	case $2 in
	run) echo "$(mean run "$n run") ± $(sd run "$n run") ms" ;;
	life) echo "$(mean lifecycle "$n lifecycle") ± $(sd lifecycle "$n lifecycle") ms" ;;
	rss) [ -n "${RSS[$n]:-}" ] && echo "${RSS[$n]} KiB" || echo "n/a" ;;
	esac
}
size_cell() {
	[ -n "${SIZE[$1]:-}" ] || { echo "missing"; return; }
	local bin=${RT[$1]:-}
	[ -n "$bin" ] || { [ "$1" = berth ] && bin=$BERTH || bin=$(command -v "$1"); }
	echo "$(human "${SIZE[$1]}") ($(linkage "$bin"))"
}

{
	echo "# berth vs runc vs crun"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) cores; hyperfine $RUNS runs + $WARMUP warmup;"
	echo "bundle process /bin/true; peak RSS = max over $RSS_RUNS \`create\` runs (GNU time %M, the runtime's own process)."
	for name in "${active[@]}"; do echo "- $name: $(version "${RT[$name]}")"; done
	[ "$hugetlb_mounted" = 1 ] && echo "- host quirk applied for crun: hugetlb moved to a v1 hierarchy during the run"
	echo
	echo "| | berth | runc | crun |"
	echo "|---|---|---|---|"
	echo "| (a) run /bin/true (mean ± σ) | $(cell berth run) | $(cell runc run) | $(cell crun run) |"
	echo "| (b) create+start+wait+delete (mean ± σ) | $(cell berth life) | $(cell runc life) | $(cell crun life) |"
	echo "| peak RSS of create | $(cell berth rss) | $(cell runc rss) | $(cell crun rss) |"
	echo "| binary size | $(size_cell berth) | $(size_cell runc) | $(size_cell crun) |"
	echo
	echo "| ratio (lower is better for berth) | berth/runc | berth/crun |"
	echo "|---|---|---|"
	echo "| (a) run | $(ratio "${RUN_MS[berth]:-}" "${RUN_MS[runc]:-}") | $(ratio "${RUN_MS[berth]:-}" "${RUN_MS[crun]:-}") |"
	echo "| (b) lifecycle | $(ratio "${LIFE_MS[berth]:-}" "${LIFE_MS[runc]:-}") | $(ratio "${LIFE_MS[berth]:-}" "${LIFE_MS[crun]:-}") |"
	echo "| peak RSS of create | $(ratio "${RSS[berth]:-}" "${RSS[runc]:-}") | $(ratio "${RSS[berth]:-}" "${RSS[crun]:-}") |"
	echo "| binary size | $(ratio "${SIZE[berth]:-}" "${SIZE[runc]:-}") | $(ratio "${SIZE[berth]:-}" "${SIZE[crun]:-}") |"
	echo
	echo "For reference, crun/runc: run $(ratio "${RUN_MS[crun]:-}" "${RUN_MS[runc]:-}"), lifecycle $(ratio "${LIFE_MS[crun]:-}" "${LIFE_MS[runc]:-}")."
	[ -n "${RT[berth]:-}" ] || echo "berth was skipped (missing or failing), so its columns and ratios are empty."
} >"$OUT/summary.md"

echo
cat "$OUT/summary.md"
echo
log "results: $OUT/{summary.md,run.md,run.json,run.csv,lifecycle.md,lifecycle.json,lifecycle.csv}"
