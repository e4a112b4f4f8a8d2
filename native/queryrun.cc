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

// Data documents up to this size keep the parser's buffers between runs;
// after a bigger one they are given back.
constexpr size_t KEEP_CAPACITY = 4 << 20;
std::unique_ptr<simdjson::dom::parser> parser;

// A string's or a header's two uint32 in a slot's value.
inline uint64_t pair(uint64_t low, uint64_t high) { return low | (high << 32); }

// The slots as the result holds them: the values, and their kinds apart.
class Writer {
 public:
  std::vector<uint64_t> values;
  std::vector<uint8_t> kinds;
  std::string names;
  std::string strings;
  // a value of a kind this file does not know was met
  bool unknown = false;

  void clear() {
    values.clear();
    kinds.clear();
    names.clear();
    strings.clear();
    unknown = false;
  }

  size_t size() const { return values.size(); }

  size_t reserve(size_t n) {
    size_t at = values.size();
    values.resize(at + n, 0);
    kinds.resize(at + n, K_MISSING);
    return at;
  }

  void string(size_t at, std::string_view s) {
    kinds[at] = K_STRING;
    values[at] = pair(strings.size(), s.size());
    strings.append(s.data(), s.size());
  }

  // an element's key or index value, also written to the names
  void name(size_t at, const element *e, std::string_view key) {
    std::string_view v = key;
    if (e) {
      if (e->type() != element_type::STRING) {
        value(at, *e);
        names.push_back(static_cast<char>(kinds[at]));
        if (kinds[at] == K_INT || kinds[at] == K_UINT || kinds[at] == K_DOUBLE) names.append(reinterpret_cast<const char *>(&values[at]), 8);
        return;
      }
      v = e->get_string().value_unsafe();
    }
    names.push_back(static_cast<char>(K_STRING));
    uint32_t n = static_cast<uint32_t>(v.size());
    names.append(reinterpret_cast<const char *>(&n), 4);
    kinds[at] = K_NAME;
    values[at] = pair(names.size(), n);
    names.append(v.data(), v.size());
  }

  void value(size_t at, const element &e) {
    switch (e.type()) {
      case element_type::NULL_VALUE: kinds[at] = K_NULL; break;
      case element_type::BOOL: kinds[at] = e.get_bool().value_unsafe() ? K_TRUE : K_FALSE; break;
      case element_type::INT64: {
        kinds[at] = K_INT;
        int64_t i = e.get_int64().value_unsafe();
        std::memcpy(&values[at], &i, 8);
        break;
      }
      case element_type::UINT64: kinds[at] = K_UINT; values[at] = e.get_uint64().value_unsafe(); break;
      case element_type::DOUBLE: {
        kinds[at] = K_DOUBLE;
        double d = e.get_double().value_unsafe();
        std::memcpy(&values[at], &d, 8);
        break;
      }
      case element_type::STRING: string(at, e.get_string().value_unsafe()); break;
      // an array's or object's value is 0, but for an array's header (rows)
      case element_type::ARRAY: kinds[at] = K_ARRAY; values[at] = 0; break;
      case element_type::OBJECT: kinds[at] = K_OBJECT; values[at] = 0; break;
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
  if (next < k && names(n.children[next]->token, key)) return next;
  if (k > FEW) {
    auto it = n.byKey->find(key);
    return it != n.byKey->end() ? it->second : k;
  }
  for (size_t i = 0; i < k; i++) {
    if (names(n.children[i]->token, key)) return i;
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
  w.names.push_back(static_cast<char>(w.kinds[header]));
  int32_t count = 0;
  uint64_t first = w.size();
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
  w.values[header] = pair(first, static_cast<uint32_t>(count));
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
  w.values.reserve(1 + q.scalars + q.arrays.size() + 1024 * width);
  w.kinds.reserve(w.values.capacity());
  w.reserve(1 + q.scalars + q.arrays.size());
  walk(w, q, q.root, doc, 0);
  if (shrink) parser.reset();
  // the buffers of a big document are given back after it
  struct Shrink {
    ~Shrink() {
      if (w.values.capacity() * 9 + w.names.capacity() + w.strings.capacity() > KEEP_CAPACITY) w = Writer();
    }
  } shrinkAfter;
  if (w.unknown) return Napi::Number::New(env, NOT_PARSED);
  size_t n = w.size();
  w.values[0] = pair(n, w.names.size());
  size_t valueBytes = n * 8;
  size_t kindBytes = (n + 7) & ~static_cast<size_t>(7);
  Napi::Buffer<uint8_t> out = Napi::Buffer<uint8_t>::New(env, valueBytes + kindBytes + w.names.size() + w.strings.size());
  uint8_t *values = out.Data();
  uint8_t *kinds = values + valueBytes;
  std::memcpy(values, w.values.data(), valueBytes);
  std::memcpy(kinds, w.kinds.data(), n);
  std::memset(kinds + n, 0, kindBytes - n);
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
