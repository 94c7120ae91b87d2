#!/usr/bin/env bash
# Install what posture needs to build (and, with --test, to run its tests)
# from the distribution's packages: apt-get on Debian/Ubuntu, dnf on the RHEL
# family.  Safe to run again; it only installs what is missing.
set -euo pipefail

want_test=0
want_run=0
for arg in "$@"; do
	case "$arg" in
	--test) want_test=1; want_run=1 ;;
	--run) want_run=1 ;;
	-h | --help)
		echo "usage: $0 [--run] [--test]"
		echo "  --run   adds what scripts/quickstart.sh uses (jq, python3, curl)"
		echo "  --test  adds the test tools (cmocka, jq, protoc, valgrind, clang, sqlite3, openssl,"
		echo "          chromium, certutil, node and npm, then npm ci in tests/browser)"
		exit 0
		;;
	*)
		echo "install-deps.sh: unknown option '$arg' (try --help)" >&2
		exit 2
		;;
	esac
done

# node 18 or newer on PATH (Debian 12 ships 18); else the distribution's packages.
node_ok() {
	command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
		[ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 18 ]
}

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if command -v apt-get >/dev/null 2>&1; then
	pkgs=(build-essential cmake pkg-config libjansson-dev libprotobuf-c-dev
		protobuf-c-compiler libssl-dev libuv1-dev libsqlite3-dev
		zlib1g-dev liblz4-dev librpm-dev libcurl4-openssl-dev node-llhttp)
	if [ "$want_run" -eq 1 ]; then
		pkgs+=(jq python3 curl ca-certificates)
	fi
	if [ "$want_test" -eq 1 ]; then
		# python3-prometheus-client reads /metrics with the Prometheus project's own parser.
		pkgs+=(python3-prometheus-client)
		# dpkg is the oracle of test_dpkgver; rpm (with rpmbuild) builds test_rpmdb's database;
		# sqlite3, openssl and python3 serve the end-to-end tests.
		pkgs+=(libcmocka-dev jq protobuf-compiler valgrind clang libclang-rt-14-dev dpkg rpm
			sqlite3 openssl python3)
		# The packages: cpack's deb (dpkg-shlibdeps from dpkg-dev, fakeroot), lintian,
		# rpmlint, systemd-analyze (systemd) for the units, setpriv (util-linux).
		pkgs+=(dpkg-dev fakeroot lintian rpmlint systemd util-linux adduser)
		# The dashboard's browser test: Debian's chromium, certutil (libnss3-tools) to
		# trust the test CA, and node with npm for playwright-core (tests/browser).
		pkgs+=(chromium libnss3-tools)
		if ! node_ok; then pkgs+=(nodejs npm); fi
	fi
	missing=()
	for p in "${pkgs[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "install-deps.sh: installing ${missing[*]}"
		as_root apt-get update -qq
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
	fi
elif command -v dnf >/dev/null 2>&1; then
	pkgs=(gcc make cmake pkgconf-pkg-config jansson-devel protobuf-c-devel
		protobuf-c-compiler openssl-devel libuv-devel sqlite-devel
		zlib-devel lz4-devel rpm-devel libcurl-devel llhttp-devel)
	if [ "$want_run" -eq 1 ]; then
		pkgs+=(jq python3 curl)
	fi
	if [ "$want_test" -eq 1 ]; then
		pkgs+=(python3-prometheus_client libcmocka-devel jq protobuf-compiler valgrind clang compiler-rt dpkg rpm-build
			sqlite openssl python3 rpmlint systemd util-linux)
		# The dashboard's browser test (EPEL has chromium).
		pkgs+=(chromium nss-tools)
		if ! node_ok; then pkgs+=(nodejs npm); fi
	fi
	as_root dnf install -y "${pkgs[@]}"
else
	echo "install-deps.sh: neither apt-get nor dnf found; install the packages listed in this script by hand" >&2
	exit 2
fi

if [ "$want_test" -eq 1 ]; then
	# playwright-core for tests/e2e/test_dashboard.sh, at the version package-lock.json pins.
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	echo "install-deps.sh: npm ci in $here/tests/browser (the dashboard's browser test)"
	(cd "$here/tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
