#!/usr/bin/env bash
# Run every test: installs what the tests need (.ci/setup --tests: PCP and
# the programs the tests run, npm packages, the native build), then ava
# with its TAP reporter. The last line printed is always "N passed, N
# failed"; the status is 0 only if ava's was and no test failed.
#
# Where ava's TAP reporter ends without its "# pass"/"# fail" summary (it
# crashes on a timeout on some Node.js versions) the test lines are counted
# instead ("ok" but not "# SKIP", "not ok" but not "# TODO"), and an ava
# that failed with no failing test line counts as one failure.
set -uo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup --tests || { echo "0 passed, 1 failed"; exit 1; }
tap=$(mktemp)
npx ava --tap "$@" 2>&1 | tee "$tap"
status=${PIPESTATUS[0]}
passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n 1)
if [ -z "$passed" ] || [ -z "$failed" ]; then
  passed=$(grep -E '^ok [0-9]+' "$tap" | grep -vc '# SKIP')
  failed=$(grep -E '^not ok [0-9]+' "$tap" | grep -vc '# TODO')
  echo "run.sh: ava (exit status $status) printed no summary; counted its test lines"
fi
rm -f "$tap"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "run.sh: ava exited with status $status but no test failed: counted as one failure"
  failed=1
fi
echo "${passed} passed, ${failed} failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
