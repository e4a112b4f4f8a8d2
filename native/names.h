// The dynamic namespace: metric names and their PMIDs, looked up by
// name, by PMID and by subtree for the pmid, name and children PDUs.
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

extern "C" {
#include <pcp/pmapi.h>
}

namespace pmdajson {

/**
 * What libpcp_pmda's pmdaTree answers, with hashed lookups: pmdaTreeInsert
 * searches a node's children as a list, so building a tree of n sources or
 * n metrics under one node took time in n squared (12,000 names under one
 * node: 0.5 s), and each name lookup walked the siblings.
 */
class NameTable {
 public:
  /**
   * The names of `joined` (NUL between them), which the table keeps: every
   * node's name and key is a view into it, so that adding one allocates
   * little (12,000 names at a warm start took 15 ms with a string each).
   */
  explicit NameTable(std::string joined) : all_(std::move(joined)) {}
  /** The names kept, NUL between them. */
  const std::string &joined() const { return all_; }
  /** Room for about `metrics` names, so that thousands are added with no rehashing. */
  void reserve(size_t metrics);
  /** Add metric `name`, a part of joined(): 0, 1 if it is there already, or a PCP error (PM_ERR_PMID, PM_ERR_NAME). */
  int insert(std::string_view name, pmID pmid);
  /** The pmid callback: PM_ERR_NAME unless `name` is a metric. */
  int pmid(const char *name, pmID *out) const;
  /** The name callback: the metric's names in one malloc'd block, and their number. */
  int names(pmID pmid, char ***out) const;
  /**
   * The children callback: without `traverse`, the names below `name` one
   * level down and whether each is a leaf; with it, the full names of all
   * metrics at or below `name`. Both in one malloc'd block each; newest first,
   * as pmdaTree lists them.
   */
  int children(const char *name, int traverse, char ***kids, int **status) const;

 private:
  struct Node {
    std::string_view name;  // this level's part of the name
    pmID pmid;              // PM_ID_NULL for a subtree
    int parent;
    // the children, newest first: the newest, and each one's next older sibling (0 for none)
    int newestKid;
    int olderSibling;
  };
  std::string all_;
  std::vector<Node> nodes_{Node{std::string_view(), PM_ID_NULL, -1, 0, 0}};  // 0 is the root
  // each node by its full name (a prefix of a name in all_)
  std::unordered_map<std::string_view, int> byName_;
  std::unordered_multimap<pmID, int> byPmid_;
  // the parent of the last metric added, and its name with the dot after it
  int lastParent_ = 0;
  std::string_view lastPrefix_;

  std::string fullName(int n) const;
  void leavesBelow(int n, std::vector<int> &out) const;
};

}  // namespace pmdajson
