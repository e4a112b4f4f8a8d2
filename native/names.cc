// The dynamic namespace as hashed tables (native/names.h): a node per
// name part, the full name of every node, and the nodes of every PMID.
// Answers are laid out as libpcp expects to free them: one malloc'd
// block of pointers followed by the strings, and a malloc'd status array.
#include "names.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace pmdajson {

void NameTable::reserve(size_t metrics) {
  // a metric's name and, for most, one subtree of its source's
  nodes_.reserve(metrics + metrics / 2 + 1);
  byName_.reserve(metrics + metrics / 2 + 1);
  byPmid_.reserve(metrics);
}

int NameTable::insert(std::string_view name, pmID pmid) {
  int at = 0;
  size_t from = 0;
  // names come a source at a time: one below the last one's parent starts there
  if (lastParent_ > 0 && name.size() > lastPrefix_.size() && name.substr(0, lastPrefix_.size()) == lastPrefix_) {
    at = lastParent_;
    from = lastPrefix_.size();
  }
  for (;;) {
    size_t dot = name.find('.', from);
    bool last = dot == std::string_view::npos;
    std::string_view upto = last ? name : name.substr(0, dot);
    auto found = byName_.find(upto);
    if (found != byName_.end()) {
      at = found->second;
      if (last) return nodes_[at].pmid == pmid ? 1 : PM_ERR_PMID;
      if (nodes_[at].pmid != PM_ID_NULL) return PM_ERR_NAME;  // below a metric
    } else {
      int n = static_cast<int>(nodes_.size());
      nodes_.push_back(Node{last ? name.substr(from) : name.substr(from, dot - from), last ? pmid : PM_ID_NULL, at, 0, nodes_[at].newestKid});
      nodes_[at].newestKid = n;
      byName_.emplace(upto, n);
      at = n;
      if (last) {
        byPmid_.emplace(pmid, n);
        lastParent_ = nodes_[n].parent;
        lastPrefix_ = name.substr(0, from);
        return 0;
      }
    }
    from = dot + 1;
  }
}

int NameTable::pmid(const char *name, pmID *out) const {
  auto found = byName_.find(name);
  if (found == byName_.end() || nodes_[found->second].pmid == PM_ID_NULL) return PM_ERR_NAME;
  *out = nodes_[found->second].pmid;
  return 0;
}

std::string NameTable::fullName(int n) const {
  std::string out(nodes_[n].name);
  for (int p = nodes_[n].parent; p > 0; p = nodes_[p].parent) {
    out.insert(0, 1, '.');
    out.insert(0, nodes_[p].name);
  }
  return out;
}

namespace {
// `strings` as one block: the pointers, then the NUL-terminated strings
char **block(const std::vector<std::string> &strings) {
  size_t length = strings.size() * sizeof(char *);
  for (const auto &s : strings) length += s.size() + 1;
  char **list = static_cast<char **>(malloc(length));
  if (list == nullptr) return nullptr;
  char *p = reinterpret_cast<char *>(&list[strings.size()]);
  for (size_t i = 0; i < strings.size(); i++) {
    list[i] = p;
    memcpy(p, strings[i].c_str(), strings[i].size() + 1);
    p += strings[i].size() + 1;
  }
  return list;
}
}  // namespace

int NameTable::names(pmID pmid, char ***out) const {
  std::vector<std::string> found;
  auto range = byPmid_.equal_range(pmid);
  for (auto it = range.first; it != range.second; ++it) found.push_back(fullName(it->second));
  if (found.empty()) return PM_ERR_PMID;
  char **list = block(found);
  if (list == nullptr) return -ENOMEM;
  *out = list;
  return static_cast<int>(found.size());
}

void NameTable::leavesBelow(int n, std::vector<int> &out) const {
  const Node &node = nodes_[n];
  if (node.pmid != PM_ID_NULL) {
    out.push_back(n);
    return;
  }
  for (int k = node.newestKid; k > 0; k = nodes_[k].olderSibling) leavesBelow(k, out);
}

int NameTable::children(const char *name, int traverse, char ***kids, int **status) const {
  auto found = byName_.find(name);
  if (found == byName_.end()) return PM_ERR_NAME;
  const Node &node = nodes_[found->second];
  std::vector<std::string> list;
  std::vector<int> leaf;
  if (traverse == 0) {
    for (int k = node.newestKid; k > 0; k = nodes_[k].olderSibling) {
      list.emplace_back(nodes_[k].name);
      leaf.push_back(nodes_[k].pmid == PM_ID_NULL ? PMNS_NONLEAF_STATUS : PMNS_LEAF_STATUS);
    }
  } else {
    std::vector<int> below;
    leavesBelow(found->second, below);
    for (int n : below) {
      list.push_back(fullName(n));
      leaf.push_back(PMNS_LEAF_STATUS);
    }
  }
  // no children: no arrays, as libpcp_pmda answers
  if (list.empty()) return 0;
  char **names = block(list);
  int *sts = static_cast<int *>(malloc(leaf.size() * sizeof(int)));
  if (names == nullptr || sts == nullptr) {
    free(names);
    free(sts);
    return -ENOMEM;
  }
  memcpy(sts, leaf.data(), leaf.size() * sizeof(int));
  *kids = names;
  *status = sts;
  return static_cast<int>(list.size());
}

}  // namespace pmdajson
