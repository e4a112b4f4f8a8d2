#!/usr/bin/env bash
# Lay out every file of the JSON PMDA's package under DESTDIR, from a built
# checkout, for the PCP installed here: what packaging/deb.sh packs and
# packaging/rpm/pcp-pmda-json.spec installs, so the two hold the same files.
#   the PMDA's tree     $PCP_PMDASADM_DIR/json (links in $PCP_PMDAS_DIR/json),
#                       or $PCP_PMDAS_DIR/json where pcp.conf has no PMDASADM
#   the tools           pmdajson-check, pmdajson-generate in $PCP_BIN_DIR,
#                       links to the tree's; generate_ceph_metadata in the
#                       tree, where pmdajson had it
#   manual pages        pmdajson(1), pmdajson-check(1), pmdajson-generate(1)
#                       in $PCP_MAN_DIR/man1, gzipped
#   pmlogconf, pmieconf json/summary and json/source_errors, where this PCP
#                       keeps them ($PCP_SYSCONF_DIR, linked from $PCP_VAR_DIR)
#   documentation       /usr/share/doc/pcp-pmda-json: README, SECURITY.md, copyright
#   bash packaging/root.sh DESTDIR      (DESTDIR must not exist, or be empty)
set -euo pipefail
umask 022
cd "$(dirname "$0")/.."

die() { echo "root: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: bash packaging/root.sh DESTDIR"
root=$1
for f in dist/pmda/main.js dist/index.mjs build/Release/pmda_json.node; do
  [ -f "$f" ] || die "$f is missing: build first (npm run build)"
done

# shellcheck disable=SC1091
set +u; . "${PCP_DIR:-}/etc/pcp.env"; set -u
# shellcheck source=packaging/tree-dirs.sh
. packaging/tree-dirs.sh
name=pcp-pmda-json
version=$(node -p 'require("./package.json").version')
mkdir -p -m 755 "$root"

# the tree, and a link in $PCP_PMDAS_DIR/json for each of its entries
node packaging/stage.mjs "$root$tree" >/dev/null
if [ "$links" != "$tree" ]; then
  mkdir -p "$root$links"
  for e in "${entries[@]}"; do ln -s "$tree/$e" "$root$links/$e"; done
fi

# the tools on PATH: links to the tree's
bin="${PCP_BIN_DIR:-/usr/bin}"
mkdir -p "$root$bin"
for ((i = 0; i < ${#tools[@]}; i += 2)); do ln -s "$tree/${tools[i+1]}" "$root$bin/${tools[i]}"; done

# the manual pages
man1="${PCP_MAN_DIR:-/usr/share/man}/man1"
mkdir -p "$root$man1"
for page in man/*.1; do gzip -9n < "$page" > "$root$man1/$(basename "$page").gz"; done

# pmlogconf and pmieconf: the file in $PCP_SYSCONF_DIR/<tool>/json (a
# configuration file of the package) and a link in
# $PCP_VAR_DIR/config/<tool>/json, as this PCP does for its own; only
# $PCP_VAR_DIR where it has no $PCP_SYSCONF_DIR copy
place() {  # tool file
  local tool=$1 file=$2 var="$PCP_VAR_DIR/config/$1/json" etc="$PCP_SYSCONF_DIR/$1/json"
  mkdir -p "$root$var"
  if [ -d "$PCP_SYSCONF_DIR/$tool" ]; then
    mkdir -p "$root$etc"
    install -m 644 "packaging/$tool/$file" "$root$etc/$file"
    ln -s "$etc/$file" "$root$var/$file"
  else
    install -m 644 "packaging/$tool/$file" "$root$var/$file"
  fi
}
place pmlogconf summary
place pmieconf source_errors

# documentation
doc="/usr/share/doc/$name"
mkdir -p "$root$doc"
install -m 644 packaging/README.tree "$root$doc/README"
install -m 644 docs/SECURITY.md "$root$doc/SECURITY.md"
cat > "$root$doc/copyright" <<EOC
pmda-json $version: the JSON PMDA for Performance Co-Pilot.
License: GPL-2.0-or-later. On Debian systems the GNU General Public
License version 2 is in /usr/share/common-licenses/GPL-2; elsewhere see
https://www.gnu.org/licenses/old-licenses/gpl-2.0.html.
Its run-time node modules (in $tree/node_modules) carry their own
licenses (MIT), in their directories.
EOC
echo "root: $root"
