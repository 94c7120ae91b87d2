#!/usr/bin/env bash
# test_packages.sh - the .deb packages as an operator gets them: built with
# cpack in a temporary build tree, inspected (files, modes, conffiles,
# dependencies), installed into a fresh root with dpkg --root and
# --force-script-chrootless (the maintainer scripts honour DPKG_ROOT, so
# the users are created in that root's /etc/passwd) and purged from it.
# As root, also on this machine: dpkg -i, a scan of a fixture root with the
# installed binary, enrollment against a collector started here, one
# delivered report as user posture-agent holding only CAP_DAC_READ_SEARCH,
# and a purge that leaves only what Debian policy keeps (the system user).
set -euo pipefail
: "${POSTURE_SOURCE_DIR:?set POSTURE_SOURCE_DIR to the source tree}"

for tool in cpack dpkg-deb dpkg-shlibdeps fakeroot; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is missing (packaging/install-deps.sh --test installs it)"
		exit 0
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/posture-pkg.XXXXXX")
installed=0
collector_pid=
cleanup() {
	if [ -n "$collector_pid" ]; then kill -KILL "$collector_pid" 2>/dev/null || true; fi
	if [ "$installed" -eq 1 ]; then dpkg -P posture-agent >/dev/null 2>&1 || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
pass=0
fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name (command failed: $*)"; fi
}

# --- build ---------------------------------------------------------------------
cflags="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
ldflags=$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get LDFLAGS)
cmake -S "$POSTURE_SOURCE_DIR" -B "$work/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF -DCMAKE_C_FLAGS="$cflags" \
	-DCMAKE_EXE_LINKER_FLAGS="$ldflags" >"$work/cmake.log" 2>&1 || {
	tail -n 30 "$work/cmake.log"
	exit 1
}
cmake --build "$work/build" -j"$(nproc)" --target posture-agent posture-collector posturectl \
	>"$work/build.log" 2>&1 || {
	tail -n 30 "$work/build.log"
	exit 1
}
(cd "$work/build" && cpack -G DEB >"$work/cpack.log" 2>&1) || {
	tail -n 30 "$work/cpack.log"
	exit 1
}
agent_deb=$(ls "$work/build"/posture-agent_*.deb)
collector_deb=$(ls "$work/build"/posture-collector_*.deb)
ok "cpack made $(basename "$agent_deb") and $(basename "$collector_deb")"

# --- lintian and the units' exposure ------------------------------------------------
# No error and no warning: what remains is an override with its reason (packaging/lintian/).
if lintian --fail-on error,warning "$agent_deb" "$collector_deb" >"$work/lintian.log" 2>&1; then
	ok "lintian: no errors or warnings ($(grep -c '^[IP]:' "$work/lintian.log" || true) info and pedantic notes)"
else
	bad "lintian" "$(grep -E '^[EW]:' "$work/lintian.log" | head -n 10)"
fi
for unit in posture-agent posture-collector; do
	exposure=$(systemd-analyze security --offline=true "$POSTURE_SOURCE_DIR/packaging/systemd/$unit.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	check "$unit.service: systemd-analyze exposure ${exposure:-?} (at most 2.5)" \
		awk -v x="${exposure:-99}" 'BEGIN { exit !(x <= 2.5) }'
done

# --- inspect -------------------------------------------------------------------
dpkg-deb -c "$agent_deb" >"$work/agent.list"
has() { grep -Eq "$2" "$1"; }
check "agent: the binary, 0755 root" has "$work/agent.list" '^-rwxr-xr-x root/root .* \./usr/bin/posture-agent$'
check "agent: the baseline policy" has "$work/agent.list" ' \./usr/share/posture/policies/linux-baseline\.json$'
check "agent: agent.json, 0644 root" has "$work/agent.list" '^-rw-r--r-- root/root .* \./etc/posture/agent\.json$'
check "agent: the unit" has "$work/agent.list" ' \./lib/systemd/system/posture-agent\.service$'
check "agent: the man page, compressed" has "$work/agent.list" ' \./usr/share/man/man8/posture-agent\.8\.gz$'
check "agent: copyright" has "$work/agent.list" ' \./usr/share/doc/posture-agent/copyright$'
check "agent: no file writable by group or others" \
	bash -c "! grep -E '^.....w|^........w' '$work/agent.list'"
check "agent: agent.json is a conffile" \
	bash -c "dpkg-deb --ctrl-tarfile '$agent_deb' | tar -xO ./conffiles | grep -qx /etc/posture/agent.json"
deps=$(dpkg-deb -f "$agent_deb" Depends)
check "agent: depends on libssl3, libcurl4, adduser ($deps)" \
	bash -c "[[ '$deps' == *libssl3* && '$deps' == *libcurl4* && '$deps' == *adduser* ]]"
dpkg-deb -c "$collector_deb" >"$work/collector.list"
check "collector: binary, conffile, unit" bash -c \
	"grep -q ' ./usr/bin/posture-collector$' '$work/collector.list' && grep -q ' ./etc/posture/collector.json$' '$work/collector.list' && grep -q ' ./lib/systemd/system/posture-collector.service$' '$work/collector.list'"
check "collector: posturectl, 0755 root" has "$work/collector.list" '^-rwxr-xr-x root/root .* \./usr/bin/posturectl$'
check "collector: posturectl's man page, compressed" has "$work/collector.list" ' \./usr/share/man/man1/posturectl\.1\.gz$'
check "collector: no file writable by group or others" \
	bash -c "! grep -E '^.....w|^........w' '$work/collector.list'"
deps=$(dpkg-deb -f "$collector_deb" Depends)
check "collector: depends on libsqlite3-0, libuv1, libcurl4 ($deps)" \
	bash -c "[[ '$deps' == *libsqlite3-0* && '$deps' == *libuv1* && '$deps' == *libcurl4* ]]"

if ! [ "$(id -u)" -eq 0 ]; then
	echo "SKIP: installing (into a root and on this machine) needs root; run the test as root"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi

# --- a fresh root ---------------------------------------------------------------
root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
: >"$root/var/lib/dpkg/status"
: >"$root/var/lib/dpkg/available"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
printf 'root:*::\n' >"$root/etc/gshadow"
chmod 0640 "$root/etc/shadow" "$root/etc/gshadow"
rootdpkg() { dpkg --root="$root" --force-script-chrootless --force-depends --force-not-root "$@"; }
if rootdpkg -i "$agent_deb" >"$work/root-install.log" 2>&1; then
	ok "dpkg --root -i posture-agent"
else
	bad "dpkg --root -i posture-agent: $(tail -n 5 "$work/root-install.log")"
fi
check "root: the user was created by postinst" grep -q '^posture-agent:' "$root/etc/passwd"
check "root: its group too" grep -q '^posture-agent:' "$root/etc/group"
uid=$(awk -F: '$1 == "posture-agent" { print $3 }' "$root/etc/passwd")
statf() { stat -c '%a %u' "$1"; }
check "root: /etc/posture/agent 0700 posture-agent" bash -c "[ \"\$(stat -c '%a %u' '$root/etc/posture/agent')\" = '700 $uid' ]"
check "root: spool 0700 posture-agent" bash -c "[ \"\$(stat -c '%a %u' '$root/var/lib/posture/spool')\" = '700 $uid' ]"
check "root: agent.json 0640" bash -c "[ \"\$(stat -c '%a' '$root/etc/posture/agent.json')\" = 640 ]"
check "root: unit present" test -f "$root/lib/systemd/system/posture-agent.service"
check "root: binary present" test -x "$root/usr/bin/posture-agent"
# An operator's change survives a reinstall (conffile).
echo '{"changed": true}' >"$root/etc/posture/agent.json"
rootdpkg --force-confold -i "$agent_deb" >>"$work/root-install.log" 2>&1 || true
check "root: a changed agent.json is kept on reinstall" grep -q changed "$root/etc/posture/agent.json"
if rootdpkg -P posture-agent >"$work/root-purge.log" 2>&1; then
	ok "dpkg --root -P posture-agent"
else
	bad "dpkg --root -P posture-agent: $(tail -n 5 "$work/root-purge.log")"
fi
left=$(cd "$root" && find . -path ./var/lib/dpkg -prune -o -path ./etc -prune -o -print | grep -Ev '^\.(/var(/lib)?)?$' || true)
left_etc=$(cd "$root/etc" && find . -mindepth 1 | grep -Ev '^\./(passwd|group|shadow|gshadow)-?$' || true)
check "root: purge left nothing but the user (left: ${left:-none} ${left_etc})" \
	bash -c "[ -z '$left' ] && [ -z '$left_etc' ]"
check "root: the user stays after purge (Debian policy)" grep -q '^posture-agent:' "$root/etc/passwd"

# --- this machine -----------------------------------------------------------------
if dpkg -s posture-agent >/dev/null 2>&1; then
	echo "SKIP: posture-agent is already installed on this machine; not touching it"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
fi
installed=1
if ! dpkg -i "$agent_deb" >"$work/install.log" 2>&1; then
	apt-get install -f -y -qq >>"$work/install.log" 2>&1 || true
fi
check "dpkg -i posture-agent" bash -c "dpkg -s posture-agent | grep -q 'Status: install ok installed'"
check "the user posture-agent exists" getent passwd posture-agent
check "/etc/posture/agent is 0700 posture-agent" bash -c "[ \"\$(stat -c '%a %U' /etc/posture/agent)\" = '700 posture-agent' ]"
"$POSTURE_SOURCE_DIR/tests/fixtures/roots/prepare.sh" compliant "$work/fixture" >/dev/null
rc=0
/usr/bin/posture-agent scan --root "$work/fixture" --format json --output "$work/scan.json" || rc=$?
check "installed posture-agent scans a fixture root (exit $rc)" \
	bash -c "[ $rc -le 1 ] && jq -e '.results | length > 0' '$work/scan.json' >/dev/null"

collector=${POSTURE_COLLECTOR:-}
if [ -z "$collector" ] || ! [ -x "$collector" ]; then
	bad "enrollment" "POSTURE_COLLECTOR does not name the collector built alongside"
else
	export POSTURE_AGENT=/usr/bin/posture-agent POSTURE_COLLECTOR=$collector
	# fleet.sh starts its own counts: keep ours.
	kept_pass=$pass kept_fail=$fail
	# shellcheck source=lib/fleet.sh
	. "$POSTURE_SOURCE_DIR/tests/e2e/lib/fleet.sh"
	pass=$kept_pass fail=$kept_fail
	fleet_init
	collector_start
	token=$("$collector" token create --config "$work/collector/collector.json" --role enroll \
		--uses 1 --expires-in 3600)
	rc=0
	/usr/bin/posture-agent enroll --collector "https://127.0.0.1:$api_port" --token "$token" \
		--config /etc/posture/agent.json --cacert "$work/collector/ca.crt" \
		--agent-id pkg-test >"$work/enroll.out" 2>&1 || rc=$?
	check "enroll exits 0 ($(tail -c 300 "$work/enroll.out"))" test "$rc" -eq 0
	check "the key is 0600 posture-agent" bash -c "[ \"\$(stat -c '%a %U' /etc/posture/agent/agent.key)\" = '600 posture-agent' ]"
	rc=0
	/usr/bin/posture-agent enroll --collector "https://127.0.0.1:$api_port" --token "$token" \
		--config "$work/again.json" --cacert "$work/collector/ca.crt" --dir "$work" \
		>"$work/enroll2.out" 2>&1 || rc=$?
	check "a spent token: enroll exits 1 with the collector's message" \
		bash -c "[ $rc -eq 1 ] && grep -q spent '$work/enroll2.out'"
	# Point the installed agent at the fixture root and run it once as its user.
	jq --arg root "$work/fixture" '.root = $root | .splay_s = 0' /etc/posture/agent.json >"$work/a.json"
	cat "$work/a.json" >/etc/posture/agent.json
	chmod o+x "$work"
	rc=0
	setpriv --reuid=posture-agent --regid=posture-agent --init-groups \
		--inh-caps=-all,+dac_read_search --ambient-caps=-all,+dac_read_search \
		/usr/bin/posture-agent run --once --config /etc/posture/agent.json \
		>"$work/run.out" 2>&1 || rc=$?
	check "run --once as posture-agent with CAP_DAC_READ_SEARCH only (exit $rc)" test "$rc" -eq 0
	check "the collector stored the report of pkg-test" \
		bash -c "[ \"\$(sqlite3 -batch -noheader '$db' \"SELECT count(*) FROM scans WHERE agent_id = 'pkg-test'\")\" -ge 1 ]"
	collector_stop || true
fi

dpkg -P posture-agent >"$work/purge.log" 2>&1 && installed=0
check "dpkg -P posture-agent" test "$installed" -eq 0
check "purge removed /etc/posture/agent, agent.json and the spool" \
	bash -c "! [ -e /etc/posture/agent ] && ! [ -e /etc/posture/agent.json ] && ! [ -e /var/lib/posture/spool ]"
check "purge removed the binary, unit and policies" \
	bash -c "! [ -e /usr/bin/posture-agent ] && ! [ -e /lib/systemd/system/posture-agent.service ] && ! [ -e /usr/share/posture ]"
check "the user posture-agent stays (Debian policy)" getent passwd posture-agent

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
