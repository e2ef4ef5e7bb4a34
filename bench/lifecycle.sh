#!/bin/sh
# One full detached lifecycle of a container: create, start, wait until it is
# stopped, delete. This is the unit that bench/bench.sh times with hyperfine for
# each runtime, so it is deliberately plain POSIX sh with no extra processes in
# the loop (no grep, no sleep): the overhead is the same for every runtime.
#
# usage: lifecycle.sh RUNTIME ROOT BUNDLE ID_PREFIX
#   The container id is ID_PREFIX-<pid of this shell>, unique per iteration.
set -eu

rt=$1
root=$2
bundle=$3
id=$4-$$

"$rt" --root "$root" create --bundle "$bundle" "$id"
"$rt" --root "$root" start "$id"

# /bin/true exits right away; poll `state` until the runtime reports it.
n=0
while :; do
	s=$("$rt" --root "$root" state "$id")
	case $s in
	*'"stopped"'*) break ;;
	esac
	n=$((n + 1))
	if [ "$n" -ge 2000 ]; then
		echo "lifecycle.sh: $id never reached \"stopped\" ($rt)" >&2
		"$rt" --root "$root" delete --force "$id" || true
		exit 1
	fi
done

"$rt" --root "$root" delete "$id"
