#!/usr/bin/env bash
# Run every test: installs what the tests need (PCP packages, npm packages,
# the native build), then ava with its TAP reporter. The last line printed
# is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup || { echo "0 passed, 1 failed"; exit 1; }
tap=$(mktemp)
npx ava --tap "$@" 2>&1 | tee "$tap"
status=${PIPESTATUS[0]}
passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
rm -f "$tap"
if [ -z "$passed" ]; then passed=0; failed=${failed:-1}; fi
echo "${passed} passed, ${failed:-0} failed"
[ "$status" -eq 0 ] && [ "${failed:-0}" -eq 0 ]
