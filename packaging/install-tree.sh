#!/usr/bin/env bash
# Put the PMDA's own tree where this PCP keeps PMDAs, from a built
# checkout, as root (npm run install-pmda builds first, then runs this):
#
#   $PCP_PMDASADM_DIR/json   the tree, when pcp.conf sets PCP_PMDASADM_DIR
#                            (PCP >= 5.2, Debian's 6.0 included), with a link
#                            for each of its entries in $PCP_PMDAS_DIR/json
#   $PCP_PMDAS_DIR/json      the tree itself, when it does not
#
# and pmdajson-check and pmdajson-generate on PATH, as links in
# /usr/local/bin to the tree's. Then, as for every PMDA:
#   cd $PCP_PMDAS_DIR/json && ./Install
# The checkout is not needed any more. Everything is root's, with no group
# or other write, and so is every directory above.
#
# Files of the python pmdajson that the tree replaces (Install, Remove,
# README, generate_ceph_metadata of PCP 6's pcp package) are kept aside
# with a local dpkg diversion, as NAME.distrib, where dpkg is the package
# manager.
#
#   bash packaging/install-tree.sh --uninstall
# takes it all away again: Remove first if pmcd runs this tree, then the
# tree, its links and the tools' links, and the python pmdajson's files
# come back.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)

die() { echo "install-tree: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
# shellcheck disable=SC1091
set +u; . "${PCP_DIR:-}/etc/pcp.env"; set -u
[ -n "${PCP_PMDAS_DIR:-}" ] || die "PCP_PMDAS_DIR is not set by ${PCP_DIR:-}/etc/pcp.conf"

# shellcheck source=packaging/tree-dirs.sh
. packaging/tree-dirs.sh

bin=/usr/local/bin

if [ "${1:-}" = --uninstall ]; then
  conf=${PCP_PMCDCONF_PATH:-/etc/pcp/pmcd/pmcd.conf}
  if grep -q "^json[[:space:]].*$tree/dist/pmda/main.js" "$conf" 2>/dev/null; then
    (cd "$tree" && ./Remove) || die "Remove failed"
  fi
  for dir in "$links" "$tree"; do
    for e in "${entries[@]}"; do
      p="$dir/$e"
      div=$(dpkg-divert --listpackage "$p" 2>/dev/null || true)
      [ "$div" = pcp-pmda-json ] && die "$p belongs to the pcp-pmda-json package: dpkg -r pcp-pmda-json"
      if [ "$dir" = "$links" ] && [ "$links" != "$tree" ]; then
        # only our links: the pcp package's own stay
        [ -L "$p" ] && [ "$(readlink "$p")" = "$tree/$e" ] || continue
        [ "$div" = LOCAL ] || ! dpkg-query -S "$p" >/dev/null 2>&1 || continue
      fi
      rm -rf "${p:?}"
      if [ "$div" = LOCAL ]; then
        dpkg-divert --local --rename --divert "$p.distrib" --remove "$p" >/dev/null
        echo "install-tree: gave back $p"
      fi
    done
  done
  for ((i = 0; i < ${#tools[@]}; i += 2)); do
    p="$bin/${tools[i]}"
    if [ -L "$p" ] && [ "$(readlink "$p")" = "$tree/${tools[i+1]}" ]; then rm -f "$p"; fi
  done
  rmdir "$tree" "$links" 2>/dev/null || true
  echo "install-tree: removed $tree"
  exit 0
fi

# the package's tree is the package's
if dpkg-query -W -f='${Status}' pcp-pmda-json 2>/dev/null | grep -q 'install ok installed'; then
  die "the pcp-pmda-json package is installed, and its tree is $tree: use its Install, or remove the package first (dpkg -r pcp-pmda-json)"
fi

# every directory above the tree: root's, not writable by group or others
d="$tree"
while [ "$d" != / ]; do
  d=$(dirname "$d")
  [ -d "$d" ] || continue
  if [ -n "$(find "$d" -maxdepth 0 \( ! -user 0 -o \( -perm /022 ! -perm -1000 \) \) -print)" ]; then
    die "$d is not root's alone (owner or group/other write): pmcd would run what is below it as root"
  fi
done

# the tree, staged beside its place, then swapped in entry by entry
parent=$(dirname "$tree")
mkdir -p -m 755 "$parent"
stage=$(mktemp -d "$parent/.json-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
rmdir "$stage"
node "$checkout/packaging/stage.mjs" "$stage" >/dev/null
chown -R 0:0 "$stage"
chmod -R go-w "$stage"

# a file of another package (the python pmdajson's) is diverted, not lost
divert() {
  local p="$1"
  command -v dpkg-divert >/dev/null 2>&1 || return 0
  [ -e "$p" ] || [ -L "$p" ] || return 0
  local owner
  owner=$(dpkg-query -S "$p" 2>/dev/null | grep -v "diversion" | cut -d: -f1 | head -n 1)
  [ -n "$owner" ] || return 0                              # no package's
  [ -z "$(dpkg-divert --listpackage "$p")" ] || return 0   # already diverted
  dpkg-divert --local --rename --divert "$p.distrib" --add "$p" >/dev/null
  echo "install-tree: kept $owner's $p as $p.distrib"
}

mkdir -p -m 755 "$tree"
chown 0:0 "$tree"
chmod 755 "$tree"
for e in "${entries[@]}"; do
  divert "$tree/$e"
  if [ -d "$tree/$e" ] && [ ! -L "$tree/$e" ]; then
    mv "$tree/$e" "$stage/.old-$e"
  fi
  mv -fT "$stage/$e" "$tree/$e"
  rm -rf "$stage/.old-$e"
done
echo "install-tree: $tree"

# $PCP_PMDAS_DIR/json: a link for each entry (PCP's own layout), unless the
# links are already there, as the pcp package's own for Install and Remove
if [ "$links" != "$tree" ]; then
  if [ -L "$links" ]; then
    [ "$(readlink -f "$links")" = "$(readlink -f "$tree")" ] || die "$links is a link to somewhere else"
  else
    mkdir -p -m 755 "$links"
    for e in "${entries[@]}"; do
      [ "$(readlink -f "$links/$e" 2>/dev/null)" = "$(readlink -f "$tree/$e")" ] && continue
      divert "$links/$e"
      if [ -d "$links/$e" ] && [ ! -L "$links/$e" ]; then rm -rf "${links:?}/$e"; fi
      ln -sfnT "$tree/$e" "$links/$e"
    done
    echo "install-tree: $links (links to $tree)"
  fi
fi

# the tools on PATH (/usr/local/bin: not a package's)
mkdir -p -m 755 "$bin"
for ((i = 0; i < ${#tools[@]}; i += 2)); do
  p="$bin/${tools[i]}"
  [ -e "$p" ] && [ ! -L "$p" ] && die "$p exists and is not a link: not replaced"
  ln -sfnT "$tree/${tools[i+1]}" "$p"
done
echo "install-tree: ${tools[0]} and ${tools[2]} in $bin (links to $tree/dist/cli)"

echo "install-tree: now, as root: cd $links && ./Install"
