// JSON queries, compiled: the JSON pointers of a source's scalars and
// arrays as one tree of their tokens (queryCompile), which a run walks
// along a parsed document (native/queryrun.cc).
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pmdajson {
void RegisterQuery(Napi::Env env, Napi::Object exports);

// One token of a JSON pointer: a member name, and the element index it
// also names when it is one (RFC 6901: 0, or digits without a leading 0).
struct Token {
  std::string key;
  bool isIndex;
  size_t index;
  // the key's first 8 bytes (0 after its end), compared before the rest
  uint64_t head = 0;
};

// The first 8 bytes of `key`, 0 after its end.
inline uint64_t headOf(std::string_view key) {
  uint64_t h = 0;
  size_t n = key.size() < 8 ? key.size() : 8;
  for (size_t i = 0; i < n; i++) h |= static_cast<uint64_t>(static_cast<uint8_t>(key[i])) << (8 * i);
  return h;
}

// Does `t` name `key`? Most keys are short: one compare of their heads.
inline bool names(const Token &t, std::string_view key) {
  if (t.key.size() != key.size() || t.head != headOf(key)) return false;
  return key.size() <= 8 || std::memcmp(t.key.data() + 8, key.data() + 8, key.size() - 8) == 0;
}

// The pointers of a query as a tree of their tokens, so that each object
// of the document is walked once, however many pointers go through it.
struct Node {
  Token token;
  // slots (from the base of the walk) that take the value found here
  std::vector<size_t> slots;
  // slots that take it as an element's instance name (also in the names)
  std::vector<size_t> nameSlots;
  // arrays (their index in the query) whose elements are found here
  std::vector<size_t> arrays;
  std::vector<std::unique_ptr<Node>> children;
  // for many children: their positions by name (none for few: most nodes)
  std::unique_ptr<std::unordered_map<std::string_view, size_t>> byKey;
  bool anyIndex = false;
};

struct ArrayQuery {
  // an element's instance name at slot 1, its members from slot 2
  Node row;
  size_t width;
  // every pointer of an element is one member deep (few of them)
  bool flat;
};

struct Query {
  Node root;
  size_t scalars;
  std::vector<ArrayQuery> arrays;
};

// The compiled queries, by id (a freed id is empty until reused).
extern std::vector<std::unique_ptr<Query>> queries;

// Children with more members than this are also found by a hash of their names.
constexpr size_t FEW = 16;

}  // namespace pmdajson
