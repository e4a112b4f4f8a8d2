#!/usr/bin/env bash
# The main job, as root, on a fresh Debian 12 machine with Node.js 20 or
# later, or Debian 13 (trixie) or unstable (sid): install what the demo
# needs (.ci/setup: no test-only package), build, start pmcd, install this
# PMDA the PCP way (its tree where PCP keeps PMDAs, then ./Install from
# there) in place of pmdajson, with a live example source (per-interface
# transmit counters), and show its metrics with pminfo and pmrep, served
# by the installed tree.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup

export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
# npm run install-pmda: the build (done by .ci/setup), then this
bash packaging/install-tree.sh
pmdas=$(. /etc/pcp.conf; echo "$PCP_PMDAS_DIR/json")
(cd "$pmdas" && ./Install)
echo "demo: pmcd runs: $(grep '^json' "$(. /etc/pcp.conf; echo "$PCP_PMCDCONF_PATH")")"

# the example goes into the first directory config.json lists
config="$pmdas/config.json"
dir=$(node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log((c.directory_list || [])[0] || "")' "$config")
[ -n "$dir" ] || { echo "demo: $config lists no directory" >&2; exit 1; }
mkdir -p "$dir/netstat"
cp examples/netstat/metadata.json examples/netstat/netstat.sh "$dir/netstat/"
chmod 755 "$dir/netstat"
chmod 644 "$dir/netstat/metadata.json" "$dir/netstat/netstat.sh"
echo "demo: example source in $dir/netstat"

echo
echo "== pminfo -dfT json"
pminfo -dfT json
echo
echo "== pmrep: transmit packets and bytes per interface, per second"
pmrep -t 1 -s 4 json.netstat.interfaces.tx_packets json.netstat.interfaces.tx_bytes
