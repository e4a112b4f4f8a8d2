// A JSON query's run: a data document parsed with simdjson (Debian's
// libsimdjson), the tree of a compiled query (native/query.cc) walked
// along it, one slot written per pointer found (or not found), and the
// strings they hold after the slots.
//
// A slot is 8 bytes of value and a kind byte: the values of all slots
// come first, then their kinds (padded to 8 bytes), so that a million
// values take 9 MB, not 16. A value (little endian) is an int64, a
// uint64, a double, or two uint32: for a string, its offset (from the
// start of the strings, or of the names for an element's key) and its
// length; for an array's header, the index of its first row's slot and
// its element count. Slot 0 holds the number of slots and the length of
// the names; then come the scalars, one header slot per array, and the
// rows: per element its key (object maps), its index value and its
// members. After the kinds come the names, then the strings. The names
// are the elements' keys and index values, each as a
// kind byte and, for a string, its length (uint32) and bytes, for a
// number its 8 bytes: equal names mean equal instances, which lets
// JavaScript keep the instances of the last document without looking at
// them one by one.
//
// Whatever simdjson does not take, or takes differently from JSON.parse
// (integers beyond 64 bits, numbers beyond double range, lone surrogates,
// invalid UTF-8, nesting deeper than its limit, and -0, which simdjson
// reads as the integer 0 where JSON.parse keeps a negative zero), makes
// the run answer NOT_PARSED, and JavaScript parses that document itself.
#include "queryrun.h"
#include "query.h"

#include <cctype>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <simdjson.h>

namespace pmdajson {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

enum Kind : int32_t {
  K_MISSING = 0, K_NULL = 1, K_FALSE = 2, K_TRUE = 3, K_INT = 4, K_UINT = 5,
  K_DOUBLE = 6, K_STRING = 7, K_ARRAY = 8, K_OBJECT = 9,
  // a string, in the names rather than the strings
  K_NAME = 10,
};

struct Slot {
  int32_t kind;
  int32_t length;
  union {
    int64_t i;
    uint64_t u;
    double d;
    uint64_t offset;
  } v;
};
// as the writer holds it; the result packs it into 8 bytes and a kind byte
static_assert(sizeof(Slot) == 16, "a writer's slot is 16 bytes");

// Data documents up to this size keep the parser's buffers between runs;
// after a bigger one they are given back.
constexpr size_t KEEP_CAPACITY = 4 << 20;
std::unique_ptr<simdjson::dom::parser> parser;

class Writer {
 public:
  std::vector<Slot> slots;
  std::string names;
  std::string strings;
  // a value of a kind this file does not know was met
  bool unknown = false;

  void clear() {
    slots.clear();
    names.clear();
    strings.clear();
    unknown = false;
  }

  size_t reserve(size_t n) {
    size_t at = slots.size();
    slots.resize(at + n, Slot{K_MISSING, 0, {0}});
    return at;
  }

  void string(size_t at, std::string_view s) {
    slots[at].kind = K_STRING;
    slots[at].length = static_cast<int32_t>(s.size());
    slots[at].v.offset = strings.size();
    strings.append(s.data(), s.size());
  }

  // an element's key or index value, also written to the names
  void name(size_t at, const element *e, std::string_view key) {
    Slot &s = slots[at];
    if (e) value(at, *e);
    else {
      s.kind = K_STRING;
      s.length = static_cast<int32_t>(key.size());
    }
    names.push_back(static_cast<char>(s.kind));
    if (s.kind == K_STRING) {
      std::string_view v = e ? e->get_string().value_unsafe() : key;
      uint32_t n = static_cast<uint32_t>(v.size());
      names.append(reinterpret_cast<const char *>(&n), 4);
      s.kind = K_NAME;
      s.v.offset = names.size();
      names.append(v.data(), v.size());
    } else if (s.kind == K_INT || s.kind == K_UINT || s.kind == K_DOUBLE) {
      names.append(reinterpret_cast<const char *>(&s.v), 8);
    }
  }

  void value(size_t at, const element &e) {
    Slot &s = slots[at];
    switch (e.type()) {
      case element_type::NULL_VALUE: s.kind = K_NULL; break;
      case element_type::BOOL: s.kind = e.get_bool().value_unsafe() ? K_TRUE : K_FALSE; break;
      case element_type::INT64: s.kind = K_INT; s.v.i = e.get_int64().value_unsafe(); break;
      case element_type::UINT64: s.kind = K_UINT; s.v.u = e.get_uint64().value_unsafe(); break;
      case element_type::DOUBLE: s.kind = K_DOUBLE; s.v.d = e.get_double().value_unsafe(); break;
      case element_type::STRING: string(at, e.get_string().value_unsafe()); break;
      case element_type::ARRAY: s.kind = K_ARRAY; break;
      case element_type::OBJECT: s.kind = K_OBJECT; break;
      // a kind of value a later simdjson may add (big integers, say):
      // the document is left to JavaScript
      default: unknown = true; break;
    }
  }
};

// Ends each element's names: what an element's names are is then plain
// from the names alone, also when its index member comes twice.
constexpr char ROW_END = static_cast<char>(0xff);
// Starts each array's names: its index in the query and its kind.
constexpr char ARRAY_START = static_cast<char>(0xfe);

void walk(Writer &w, const Query &q, const Node &n, const element &e, size_t base);

// The position of the child of `n` named `key` (children.size() if none).
// Members usually come in the order of the last document: the child at
// `next`, after the last one found, is tried first.
size_t childOf(const Node &n, std::string_view key, size_t next) {
  size_t k = n.children.size();
  if (next < k && n.children[next]->token.key == key) return next;
  if (k > FEW) {
    auto it = n.byKey->find(key);
    return it != n.byKey->end() ? it->second : k;
  }
  for (size_t i = 0; i < k; i++) {
    if (n.children[i]->token.key == key) return i;
  }
  return k;
}

// What walk() does for an object when every child of `n` is a leaf: one
// pass over its members, each written where it goes (a later member of
// the same name overwrites an earlier one, as JSON.parse has it).
// Call f(c, value) for each member of `o` that child c of `n` names, in
// the members' order (the lookup of each resumes after the last found).
template <typename F>
inline void eachChild(const Node &n, const simdjson::dom::object &o, F f) {
  size_t k = n.children.size();
  size_t next = 0;
  for (auto field : o) {
    size_t c = childOf(n, field.key, next);
    if (c == k) continue;
    next = c + 1;
    f(c, field.value);
  }
}

// A leaf's slots: what it found.
inline void writeLeaf(Writer &w, const Node &leaf, const element &v, size_t base) {
  for (size_t s : leaf.slots) w.value(base + s, v);
  for (size_t s : leaf.nameSlots) w.name(base + s, &v, {});
}

void leaves(Writer &w, const Node &n, const simdjson::dom::object &o, size_t base) {
  eachChild(n, o, [&](size_t c, const element &v) { writeLeaf(w, *n.children[c], v, base); });
}

// The rows of array `a` of the query, from `e` (an array, or an object map).
void rows(Writer &w, const Query &q, size_t a, const element &e) {
  const ArrayQuery &aq = q.arrays[a];
  size_t header = 1 + q.scalars + a;
  // which array, and what its pointer found, come first in its names
  uint32_t which = static_cast<uint32_t>(a);
  w.names.push_back(ARRAY_START);
  w.names.append(reinterpret_cast<const char *>(&which), 4);
  w.names.push_back(static_cast<char>(w.slots[header].kind));
  int32_t count = 0;
  uint64_t first = w.slots.size();
  if (e.type() == element_type::ARRAY) {
    simdjson::dom::array arr(e);
    // every row's slots at once (nothing else is written meanwhile)
    size_t at = w.reserve(arr.size() * aq.width);
    for (element el : arr) {
      // the usual element: an object whose members are the leaves wanted
      if (aq.flat && el.type() == element_type::OBJECT) leaves(w, aq.row, simdjson::dom::object(el), at);
      else walk(w, q, aq.row, el, at);
      w.names.push_back(ROW_END);
      count++;
      at += aq.width;
    }
  } else if (e.type() == element_type::OBJECT) {
    for (auto field : simdjson::dom::object(e)) {
      size_t at = w.reserve(aq.width);
      w.name(at, nullptr, field.key);
      walk(w, q, aq.row, field.value, at);
      w.names.push_back(ROW_END);
      count++;
    }
  }
  w.slots[header].length = count;
  w.slots[header].v.offset = first;
}

// Write what the pointers through `n` find in `e`. Like JSON.parse, the
// last of duplicate member names is the one that counts: each child is
// walked once, with the last member of its name.
void walk(Writer &w, const Query &q, const Node &n, const element &e, size_t base) {
  for (size_t s : n.slots) w.value(base + s, e);
  for (size_t s : n.nameSlots) w.name(base + s, &e, {});
  for (size_t a : n.arrays) rows(w, q, a, e);
  size_t k = n.children.size();
  if (k == 0) return;
  if (e.type() == element_type::OBJECT) {
    element few[FEW];
    bool haveFew[FEW] = {};
    std::vector<element> many;
    std::vector<char> haveMany;
    if (k > FEW) {
      many.resize(k);
      haveMany.resize(k);
    }
    element *found = k > FEW ? many.data() : few;
    bool *have = k > FEW ? reinterpret_cast<bool *>(haveMany.data()) : haveFew;
    eachChild(n, simdjson::dom::object(e), [&](size_t c, const element &v) {
      const Node &child = *n.children[c];
      // a leaf: a later member of the same name overwrites its slots
      if (child.children.empty() && child.arrays.empty()) return writeLeaf(w, child, v, base);
      found[c] = v;
      have[c] = true;
    });
    for (size_t c = 0; c < k; c++) if (have[c]) walk(w, q, *n.children[c], found[c], base);
    return;
  }
  if (e.type() == element_type::ARRAY && n.anyIndex) {
    for (auto &c : n.children) {
      if (!c->token.isIndex) continue;
      auto r = simdjson::dom::array(e).at(c->token.index);
      if (!r.error()) walk(w, q, *c, r.value_unsafe(), base);
    }
  }
}

// Does the text hold the number -0 (not -0.5, not -0e1)? Maybe in a
// string: then the document is only parsed more slowly than it could be.
bool hasMinusZero(const uint8_t *text, size_t length) {
  const uint8_t *end = text + length;
  const uint8_t *p = text;
  while (p < end) {
    // memchr is vectorised; glibc's memmem of two bytes is not
    const void *at = memchr(p, '-', end - p);
    if (!at) return false;
    const uint8_t *zero = static_cast<const uint8_t *>(at) + 1;
    if (zero == end) return false;
    const uint8_t *next = zero + 1;
    if (*zero == '0' && (next == end || !(std::isdigit(*next) || *next == '.' || *next == 'e' || *next == 'E'))) return true;
    p = zero;
  }
  return false;
}

// queryRun(id, buffer, length, padded) => Buffer of slots then strings, or
// NOT_PARSED. With `padded`, the buffer has simdjson's padding after
// `length` bytes and is parsed where it is.
Napi::Value QueryRun(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id >= queries.size() || !queries[id]) throw Napi::Error::New(env, "queryRun: no such query");
  const Query &q = *queries[id];
  Napi::Buffer<uint8_t> in = info[1].As<Napi::Buffer<uint8_t>>();
  size_t length = info[2].As<Napi::Number>().Int64Value();
  bool padded = info[3].ToBoolean().Value();
  // padded: the bytes after `length`, up to the end of the buffer's memory, are simdjson's padding
  size_t room = in.ArrayBuffer().ByteLength() - in.ByteOffset();
  if (length > in.Length() || (padded && length + simdjson::SIMDJSON_PADDING > room)) throw Napi::Error::New(env, "queryRun: bad length");
  const uint8_t *text = in.Data();
  // a byte order mark is skipped, as JavaScript's parse does
  if (length >= 3 && text[0] == 0xef && text[1] == 0xbb && text[2] == 0xbf) {
    text += 3;
    length -= 3;
  }
  // a second one is not JSON for JavaScript, but simdjson 4 skips it too
  if (length >= 3 && text[0] == 0xef && text[1] == 0xbb && text[2] == 0xbf) return Napi::Number::New(env, NOT_PARSED);
  if (hasMinusZero(text, length)) return Napi::Number::New(env, NOT_PARSED);
  if (!parser) parser = std::make_unique<simdjson::dom::parser>();
  element doc;
  auto error = parser->parse(text, length, !padded).get(doc);
  bool shrink = parser->capacity() > KEEP_CAPACITY;
  if (error) {
    if (shrink) parser.reset();
    return Napi::Number::New(env, NOT_PARSED);
  }

  // one writer for every run: its buffers are not allocated (and their
  // pages not faulted in) again for each document
  static Writer w;
  w.clear();
  size_t width = 0;
  for (const ArrayQuery &a : q.arrays) width += a.width;
  w.slots.reserve(1 + q.scalars + q.arrays.size() + 1024 * width);
  w.reserve(1 + q.scalars + q.arrays.size());
  walk(w, q, q.root, doc, 0);
  if (shrink) parser.reset();
  // the buffers of a big document are given back after it
  struct Shrink {
    ~Shrink() {
      if (w.slots.capacity() * sizeof(Slot) + w.names.capacity() + w.strings.capacity() > KEEP_CAPACITY) w = Writer();
    }
  } shrinkAfter;
  if (w.unknown) return Napi::Number::New(env, NOT_PARSED);
  size_t n = w.slots.size();
  size_t valueBytes = n * 8;
  size_t kindBytes = (n + 7) & ~static_cast<size_t>(7);
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, valueBytes + kindBytes + w.names.size() + w.strings.size());
  uint8_t *values = out.Data();
  uint8_t *kinds = values + valueBytes;
  std::memset(kinds, 0, kindBytes);
  for (size_t i = 0; i < n; i++) {
    const Slot &sl = w.slots[i];
    kinds[i] = static_cast<uint8_t>(sl.kind);
    uint32_t pair[2];
    if (i == 0) {
      pair[0] = static_cast<uint32_t>(n);
      pair[1] = static_cast<uint32_t>(w.names.size());
    } else if (sl.kind == K_STRING || sl.kind == K_NAME || sl.kind == K_ARRAY || sl.kind == K_OBJECT) {
      pair[0] = static_cast<uint32_t>(sl.v.offset);
      pair[1] = static_cast<uint32_t>(sl.length);
    } else {
      std::memcpy(values + i * 8, &sl.v, 8);
      continue;
    }
    std::memcpy(values + i * 8, pair, 8);
  }
  std::memcpy(kinds + kindBytes, w.names.data(), w.names.size());
  std::memcpy(kinds + kindBytes + w.names.size(), w.strings.data(), w.strings.size());
  return out;
}

}  // namespace

void RegisterQueryRun(Napi::Env env, Napi::Object exports) {
  exports.Set("queryRun", Napi::Function::New(env, QueryRun));
  exports.Set("QUERY_NOT_PARSED", Napi::Number::New(env, NOT_PARSED));
  exports.Set("QUERY_PADDING", Napi::Number::New(env, static_cast<double>(simdjson::SIMDJSON_PADDING)));
}

}  // namespace pmdajson
