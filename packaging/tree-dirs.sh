# Sourced by packaging/install-tree.sh and packaging/deb.sh, after
# pcp.env and their own die(): where this PCP keeps the PMDA's tree
# ($tree) and where pmcd looks for it ($links: the same directory, or
# one holding a link for each entry of the tree).
links="$PCP_PMDAS_DIR/json"
if [ -n "${PCP_PMDASADM_DIR:-}" ] && [ "$PCP_PMDASADM_DIR" != "$PCP_PMDAS_DIR" ]; then
  tree="$PCP_PMDASADM_DIR/json"
else
  tree="$links"
fi
case "$tree $links" in
  *pmdajson*) die "refusing $tree: PCP 7 deletes every pmcd.conf line containing \"pmdajson\"" ;;
esac
