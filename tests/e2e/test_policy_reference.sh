#!/usr/bin/env bash
# policies/README.md's probe section must equal what the probes' tables say.
set -euo pipefail
readme="$POSTURE_SOURCE_DIR/policies/README.md"
want=$(mktemp)
have=$(mktemp)
trap 'rm -f "$want" "$have"' EXIT
"$POSTURE_AGENT" probes >"$want"
sed -n '/^<!-- probes:begin -->$/,/^<!-- probes:end -->$/p' "$readme" | sed '1d;$d' >"$have"
if ! diff -u "$have" "$want"; then
	echo "policies/README.md is out of date with the probes: run scripts/update-policy-reference.sh" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
echo "1 passed, 0 failed"
