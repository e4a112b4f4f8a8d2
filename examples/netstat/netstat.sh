#!/bin/sh
# netstat.sh -- data-exec command for the JSON PMDA: per-interface transmit
# counters from /sys/class/net/IFACE/statistics, printed as one JSON document:
#   {"interfaces": [{"name": "lo", "tx_packets": 31, "tx_bytes": 2736}, ...]}
# Needs nothing but a POSIX shell and sed; runs fine as user nobody.

net=${NETSTAT_SYSFS:-/sys/class/net}
printf '{"interfaces": ['
sep=''
for dir in "$net"/*/; do
  stats=${dir}statistics
  [ -r "$stats/tx_packets" ] && [ -r "$stats/tx_bytes" ] || continue
  packets=$(cat "$stats/tx_packets" 2>/dev/null) || continue
  bytes=$(cat "$stats/tx_bytes" 2>/dev/null) || continue
  case "$packets$bytes" in *[!0-9]*|'') continue ;; esac
  name=${dir%/}
  name=${name##*/}
  # interface names hold no '/' or white space, but may hold '"' or '\'
  name=$(printf '%s' "$name" | sed 's/\\/\\\\/g; s/"/\\"/g')
  printf '%s{"name": "%s", "tx_packets": %s, "tx_bytes": %s}' "$sep" "$name" "$packets" "$bytes"
  sep=', '
done
printf ']}\n'
