#!/usr/bin/env bash
# Build pcp-pmda-json_VERSION_ARCH.deb from a built checkout (npm run deb
# builds first, then runs this), with dpkg-deb, for the PCP installed here:
# the files packaging/root.sh lays out (the PMDA's tree, pmdajson-check and
# pmdajson-generate on PATH, the manual pages, a pmlogconf group and a
# pmieconf rule, the documentation).
# Depends: the packages of the libraries the native module links against,
# pcp and nodejs (>= 20). Installing the package starts nothing: the
# administrator runs Install. Removing it runs Remove first if pmcd runs
# this package's PMDA. Purging it also removes what Install made: the
# configuration, the numbering caches and the log (not what another
# package has, nor while pmcd runs a json PMDA). Files of the python
# pmdajson in the same places (PCP 6's pcp package) are diverted to
# NAME.distrib (a manual page to NAME.distrib.1.gz) while it is installed.
#   bash packaging/deb.sh [OUTDIR]      (default: the checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)
out=$(cd "${1:-.}" && pwd)

die() { echo "deb: $*" >&2; exit 1; }
for f in dist/pmda/main.js dist/index.mjs build/Release/pmda_json.node; do
  [ -f "$f" ] || die "$f is missing: build first (npm run build)"
done
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing"

# shellcheck disable=SC1091
set +u; . "${PCP_DIR:-}/etc/pcp.env"; set -u
name=pcp-pmda-json
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
# shellcheck source=packaging/tree-dirs.sh
. packaging/tree-dirs.sh

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/root"

bash packaging/root.sh "$root" >/dev/null
man1="${PCP_MAN_DIR:-/usr/share/man}/man1"
# where Install keeps the configuration (see Install)
if [ "$links" != "$tree" ]; then config="$PCP_SYSCONF_DIR/json/config.json"; else config="$links/config.json"; fi

# Depends: who provides each library the native module links against
upstream() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null | sed -e 's/^[0-9]*://' -e 's/-[^-]*$//' -e 's/[+~].*$//'; }
deps=()
while read -r lib; do
  path=$(ldd build/Release/pmda_json.node | awk -v l="$lib" '$1 == l && $3 ~ /^\// { print $3 }')
  [ -n "$path" ] || die "$lib: not found by ldd"
  pkg=""
  for p in "$path" "$(readlink -f "$path")" "/usr$path" "${path#/usr}"; do
    pkg=$(dpkg-query -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1) && [ -n "$pkg" ] && break
  done
  [ -n "$pkg" ] || die "$lib ($path): no package provides it"
  v=$(upstream "$pkg")
  deps+=("$pkg${v:+ (>= $v)}")
done < <(readelf -d build/Release/pmda_json.node | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
pcpv=$(upstream pcp)
deps+=("pcp${pcpv:+ (>= $pcpv)}" "nodejs (>= 20)")
depends=$(printf '%s\n' "${deps[@]}" | awk '!seen[$1]++' | paste -sd, | sed 's/,/, /g')

# what is diverted while the package is installed: the python pmdajson's
# files that the tree, its links and the manual page take the place of
diverts="$tree/Install $tree/Remove $tree/README $tree/generate_ceph_metadata $man1/pmdajson.1.gz"
[ "$links" = "$tree" ] || diverts="$diverts $links/Install $links/Remove $links/README $links/generate_ceph_metadata"

mkdir -m 755 "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: ${DEB_MAINTAINER:-pmda-json maintainers <root@localhost>}
Installed-Size: $size
Depends: $depends
Section: admin
Priority: optional
Homepage: https://pcp.io
Description: Performance Co-Pilot JSON PMDA (pmda-json)
 A PMDA that turns JSON documents -- files or the output of commands,
 described by a metadata.json -- into PCP metrics. It is the successor
 of PCP's python pmdajson, with the same configuration, metadata format,
 metric names and PMIDs, written in TypeScript on Node.js over the real
 libpcp_pmda.
 .
 Installing the package starts nothing: to have pmcd serve the metrics,
 run, as root: cd $links && ./Install
EOF
# conffiles: the package's files in /etc (the pmlogconf and pmieconf ones)
if [ -d "$root/etc" ]; then (cd "$root" && find etc -type f | sed 's|^|/|' | sort) > "$root/DEBIAN/conffiles"; fi

# Each maintainer script is written out whole, ending as postrm does (esac,
# exit 0), on purpose: dpkg runs each alone, with nothing to source.
cat > "$root/DEBIAN/preinst" <<EOF
#!/bin/sh
# $name: keep the python pmdajson's files (PCP 6's pcp package) aside
set -e
# NAME.distrib, and a manual page as NAME.distrib.1.gz (a name man accepts)
to() { case "\$1" in *.1.gz) echo "\${1%.1.gz}.distrib.1.gz" ;; *) echo "\$1.distrib" ;; esac; }
case "\$1" in
  install|upgrade)
    for p in $diverts; do
      case "\$(dpkg-divert --listpackage "\$p")" in
        $name) ;;
        LOCAL)  # left by packaging/install-tree.sh: the file is already aside
          dpkg-divert --local --no-rename --remove "\$p" >/dev/null
          dpkg-divert --package $name --no-rename --divert "\$p.distrib" --add "\$p" >/dev/null ;;
        "")
          dpkg-divert --package $name --rename --divert "\$(to "\$p")" --add "\$p" >/dev/null ;;
      esac
    done ;;
esac
exit 0
EOF

cat > "$root/DEBIAN/postinst" <<EOF
#!/bin/sh
# $name: starts nothing; says what the administrator runs
set -e
if [ "\$1" = configure ]; then
  conf=\$(. /etc/pcp.conf 2>/dev/null; echo "\${PCP_PMCDCONF_PATH:-/etc/pcp/pmcd/pmcd.conf}")
  if grep -q "^json[[:space:]].*$tree/dist/pmda/main.js" "\$conf" 2>/dev/null; then
    echo "$name: pmcd runs this PMDA; to run the new version, as root: cd $links && ./Install"
  else
    echo "$name: the JSON PMDA is in $tree; to have pmcd serve it, as root: cd $links && ./Install"
  fi
fi
exit 0
EOF

cat > "$root/DEBIAN/prerm" <<EOF
#!/bin/sh
# $name: take this package's PMDA out of pmcd before its files go, so
# pmcd.conf keeps no line for a PMDA that is not there
set -e
case "\$1" in
  remove|deconfigure)
    conf=\$(. /etc/pcp.conf 2>/dev/null; echo "\${PCP_PMCDCONF_PATH:-/etc/pcp/pmcd/pmcd.conf}")
    line="^json[[:space:]].*$tree/dist/pmda/main.js"
    if grep -q "\$line" "\$conf" 2>/dev/null; then
      echo "$name: taking the JSON PMDA out of pmcd ($tree/Remove)"
      ( cd "$tree" && ./Remove ) || echo "$name: Remove failed" >&2
      if grep -q "\$line" "\$conf" 2>/dev/null; then
        sed -i "\\|\$line|d" "\$conf"
        pmsignal -a -s HUP pmcd >/dev/null 2>&1 || true
        echo "$name: removed the json line from \$conf" >&2
      fi
    fi ;;
esac
exit 0
EOF

# written out whole, ending as preinst does, on purpose: dpkg runs it alone
cat > "$root/DEBIAN/postrm" <<EOF
#!/bin/sh
# $name: give the python pmdajson's files back; on purge, also remove
# what Install made -- the configuration, the numbering caches, the log,
# the name space file and the directories left empty -- except what another package has
# (PCP 6's pcp has pmdajson's config.json, its link and the sources
# directory), and except while pmcd runs a json PMDA (the python
# pmdajson's, which uses the same configuration and caches)
case "\$1" in
  remove|abort-install|disappear)
    for p in $diverts; do
      if [ "\$(dpkg-divert --listpackage "\$p")" = $name ]; then
        to=\$(dpkg-divert --truename "\$p")
        dpkg-divert --package $name --rename --divert "\$to" --remove "\$p" >/dev/null || \\
          echo "$name: could not give \$p back (it is \$to)" >&2
      fi
    done ;;
  purge)
    conf=\$(. /etc/pcp.conf 2>/dev/null; echo "\${PCP_PMCDCONF_PATH:-/etc/pcp/pmcd/pmcd.conf}")
    if grep -q "^json[[:space:]]" "\$conf" 2>/dev/null; then
      echo "$name: pmcd runs a json PMDA: kept its configuration $config, numbering caches and log"
      exit 0
    fi
    theirs() { dpkg-query -S "\$1" >/dev/null 2>&1; }
    for f in $config $config.orig $config.new $links/config.json $PCP_VAR_DIR/pmns/json $PCP_LOG_DIR/pmcd/json.log $PCP_LOG_DIR/pmcd/json.log.prev; do
      if [ -e "\$f" ] || [ -L "\$f" ]; then
        if theirs "\$f"; then
          echo "$name: kept \$f (\$(dpkg-query -S "\$f" | cut -d: -f1)'s)"
        else
          rm -f "\$f" && echo "$name: removed \$f"
        fi
      fi
    done
    n=\$(ls -d $PCP_VAR_DIR/config/pmda/137.* 2>/dev/null | wc -l)
    if [ "\$n" -gt 0 ]; then
      rm -f $PCP_VAR_DIR/config/pmda/137.* && echo "$name: removed the numbering caches $PCP_VAR_DIR/config/pmda/137.* (\$n files)"
    fi
    for d in $(dirname "$config") $links $PCP_TMP_DIR/json; do
      [ -d "\$d" ] && ! theirs "\$d" || continue
      if rmdir "\$d" 2>/dev/null; then
        echo "$name: removed \$d"
      else
        echo "$name: kept \$d: it is not empty (\$(ls -A "\$d" | head -n 3 | tr '\\n' ' '))"
      fi
    done ;;
esac
exit 0
EOF
chmod 755 "$root/DEBIAN/preinst" "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

deb="$out/${name}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "deb: $deb"
echo "deb: Depends: $depends"
