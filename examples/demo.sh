#!/usr/bin/env bash
# The main job, on a fresh Debian 12 machine with Node.js 20, as root:
# install what is needed, build, start pmcd, install this PMDA in place of
# pmdajson with a live example source (per-interface transmit counters),
# and show its metrics with pminfo and pmrep.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/setup

export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
./Install

# the example goes into the first directory config.json lists
config=$(. /etc/pcp.conf; echo "$PCP_PMDAS_DIR/json/config.json")
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
