#!/usr/bin/env bash
# Rewrite the generated probe section of policies/README.md from the probes'
# own tables: scripts/update-policy-reference.sh [path/to/posture-agent]
set -euo pipefail
cd "$(dirname "$0")/.."
agent=${1:-build/dev/posture-agent}
readme=policies/README.md
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
	sed -n '1,/^<!-- probes:begin -->$/p' "$readme"
	"$agent" probes
	sed -n '/^<!-- probes:end -->$/,$p' "$readme"
} >"$tmp"
cp "$tmp" "$readme"
