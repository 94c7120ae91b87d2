#!/usr/bin/env bash
# test_cli.sh - the posture-agent command line: usage and I/O errors exit 2
# with a message on stderr that says what failed; results exit 0 or 1;
# --output writes the report; --root is honoured even for policy files
# given by relative path.
set -euo pipefail
: "${POSTURE_AGENT:?set POSTURE_AGENT to the posture-agent binary}"
: "${POSTURE_SOURCE_DIR:?set POSTURE_SOURCE_DIR to the source tree}"

work=$(mktemp -d "${TMPDIR:-/tmp}/posture-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0
fail=0

# expect NAME WANT_STATUS STDERR_SUBSTRING -- ARGS...
expect() {
	local name=$1 want=$2 msg=$3 rc=0
	shift 4
	"$POSTURE_AGENT" "$@" >"$work/out" 2>"$work/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL $name: exit $rc, want $want; stderr: $(head -c 300 "$work/err")"
		fail=$((fail + 1))
	elif [ -n "$msg" ] && ! grep -qF -- "$msg" "$work/err"; then
		echo "FAIL $name: stderr lacks \"$msg\": $(head -c 300 "$work/err")"
		fail=$((fail + 1))
	else
		echo "ok   $name"
		pass=$((pass + 1))
	fi
}

mkdir -p "$work/root/etc"
printf 'ID=debian\nVERSION_ID="12"\n' >"$work/root/etc/os-release"
printf 'PASS_MAX_DAYS 90\n' >"$work/root/etc/login.defs"
cat >"$work/p.json" <<'JSON'
{"id": "cli", "version": "1", "title": "CLI test",
 "checks": [{"id": "login.max-days", "title": "t", "severity": "low", "category": "access_control",
             "rules": [{"probe": "keyvalue", "path": "/etc/login.defs", "key": "PASS_MAX_DAYS",
                        "op": "le", "value": 365}]}]}
JSON
sed 's/"le", "value": 365/"le", "value": 30/' "$work/p.json" >"$work/fail.json"

expect "no command" 2 "usage:" --
expect "unknown command" 2 'unknown command "frobnicate"' -- frobnicate
expect "unknown option" 2 "usage:" -- scan --colour
expect "unknown format" 2 'unknown format "xml" (table, json or protobuf)' -- scan --policy "$work/p.json" --format xml
expect "stray argument" 2 'unexpected argument "extra"' -- scan --policy "$work/p.json" extra
expect "missing policy" 2 "policy $work/nope.json" -- scan --policy "$work/nope.json" --root "$work/root"
expect "empty policy directory" 2 "holds no *.json policy" -- scan --policy "$work/root" --root "$work/root"
expect "missing root" 2 "$work/no-root" -- scan --policy "$work/p.json" --root "$work/no-root"
expect "unwritable output" 2 "cannot write" -- scan --policy "$work/p.json" --root "$work/root" --output "$work/no/dir/out.json"
expect "passing scan" 0 "" -- scan --policy "$work/p.json" --root "$work/root"
expect "failing scan" 1 "" -- scan --policy "$work/fail.json" --root "$work/root"
expect "help" 0 "" -- --help
expect "version" 0 "" -- --version

expect "output file" 0 "" -- scan --policy "$work/p.json" --root "$work/root" --format json --output "$work/scan.json"
if jq -e '.format == "posture.scan/v1" and .summary.pass == 1 and .results[0].evidence[0].location == "/etc/login.defs:1"' \
	"$work/scan.json" >/dev/null && [ ! -s "$work/out" ]; then
	echo "ok   --output holds the document and stdout is empty"
	pass=$((pass + 1))
else
	echo "FAIL --output: $(head -c 300 "$work/scan.json")"
	fail=$((fail + 1))
fi

# A directory of policies loads every *.json in it.
mkdir -p "$work/dir"
cp "$work/p.json" "$work/dir/a.json"
sed 's/"id": "cli"/"id": "cli2"/' "$work/p.json" >"$work/dir/b.json"
expect "policy directory" 0 "" -- scan --policy "$work/dir" --root "$work/root" --format json
if [ "$(jq -r '[.policies[].id] | join(",")' "$work/out")" = "cli,cli2" ]; then
	echo "ok   a policy directory loads every policy in name order"
	pass=$((pass + 1))
else
	echo "FAIL policy directory: $(jq -c '.policies' "$work/out")"
	fail=$((fail + 1))
fi

# Symbolic links resolve inside --root: an absolute target and a target that
# climbs above the root both land on the root's files, never the host's.
mkdir -p "$work/links/etc/defs"
printf 'ID=debian\n' >"$work/links/etc/os-release"
printf 'PASS_MAX_DAYS 90\n' >"$work/links/etc/defs/real"
ln -s /etc/defs/real "$work/links/etc/login.defs"
expect "absolute symlink stays in the root" 0 "" -- scan --policy "$work/p.json" --root "$work/links" --format json
rm "$work/links/etc/login.defs"
ln -s ../../../../../../../../etc/defs/real "$work/links/etc/login.defs"
expect "climbing symlink stays in the root" 0 "" -- scan --policy "$work/p.json" --root "$work/links" --format json
if [ "$(jq -r '.results[0].evidence[0].observed' "$work/out")" = "PASS_MAX_DAYS 90" ]; then
	echo "ok   the evidence shows the root's file, not the host's"
	pass=$((pass + 1))
else
	echo "FAIL symlink evidence: $(jq -c '.results[0].evidence' "$work/out")"
	fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
