# rootns.sh - sourced by the end-to-end tests that scan fixture roots.
#
# The roots must be owned by uid 0 (tests/fixtures/roots/prepare.sh).  As
# root that is given; otherwise `need_uid0 NAME "$0" "$@"` re-runs the test
# in a user namespace where the caller is uid 0 ('unshare -r'), or stops
# with a message saying what to do.
need_uid0() {
	local name=$1
	shift
	[ "$(id -u)" = 0 ] && return 0
	if [ -z "${POSTURE_E2E_USERNS:-}" ] && unshare -r true 2>/dev/null; then
		export POSTURE_E2E_USERNS=1
		exec unshare -r bash "$@"
	fi
	echo "$name: the fixture roots must be owned by uid 0: run as root, or where 'unshare -r' works" >&2
	exit 1
}
