#!/usr/bin/env bash
# Build pcp-pmda-json-VERSION-1.ARCH.rpm from a built checkout (npm run rpm
# builds first, then runs this), with rpmbuild and
# packaging/rpm/pcp-pmda-json.spec, for the PCP installed here; the files
# are the Debian package's (packaging/root.sh lays out both).
#   bash packaging/rpm.sh [OUTDIR]      (default: the checkout)
# Where rpm is not the system's package manager (Debian: apt-get install
# rpm), its database knows no package, so BuildRequires are not checked
# (--nodeps): the build needs what npm run build needed; and the
# distribution's own post-install steps are not run (Debian's
# brp-compress fails under dash; the manual pages are compressed already,
# and the ELF files are left as the Debian package has them). The links
# into the tree are absolute, as PCP's own: rpmbuild's warning about each
# is not repeated.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$(pwd)
out=$(cd "${1:-.}" && pwd)

die() { echo "rpm: $*" >&2; exit 1; }
command -v rpmbuild >/dev/null || die "rpmbuild is missing (Debian: apt-get install rpm)"
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
foreign=()
rpm -q rpm >/dev/null 2>&1 || foreign=(--nodeps --define '__os_install_post %{nil}')

rpmbuild -bb --quiet "${foreign[@]}" --define "_topdir $top" --define "checkout $checkout" \
  packaging/rpm/pcp-pmda-json.spec 2> >(grep -v '^warning: absolute symlink: ' >&2) ||
  die "rpmbuild failed"
rpm=$(find "$top/RPMS" -name '*.rpm' | head -n 1)
[ -n "$rpm" ] || die "rpmbuild made no package"
cp "$rpm" "$out/"
echo "rpm: $out/$(basename "$rpm")"
