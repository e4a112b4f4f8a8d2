# Sourced by packaging/install-tree.sh, packaging/root.sh and
# packaging/deb.sh, after pcp.env and their own die(): where this PCP
# keeps the PMDA's tree ($tree) and where pmcd looks for it ($links: the
# same directory, or one holding a link for each entry of the tree), the
# entries of the tree ($entries), and the tools it puts on PATH ($tools:
# the command, then its file in the tree).
links="$PCP_PMDAS_DIR/json"
if [ -n "${PCP_PMDASADM_DIR:-}" ] && [ "$PCP_PMDASADM_DIR" != "$PCP_PMDAS_DIR" ]; then
  tree="$PCP_PMDASADM_DIR/json"
else
  tree="$links"
fi
case "$tree $links" in
  *pmdajson*) die "refusing $tree: PCP 7 deletes every pmcd.conf line containing \"pmdajson\"" ;;
esac
# shellcheck disable=SC2034
entries=(dist build node_modules Install Remove README pmns domain.h help package.json generate_ceph_metadata)
# shellcheck disable=SC2034
tools=(pmdajson-check dist/cli/check.js pmdajson-generate dist/cli/generate.js)
