// cread: the C floor's reading of a data file, for cpmda built with
// READ_FILES (bench/run.mjs, BENCH_C_READS=1): what a C PMDA that reads
// the benchmark's JSON costs, against the floor that holds its values in
// memory.
//
// It takes the benchmark's shape only (bench/data.mjs): members m<j> of
// the top object are integers, a<a> arrays whose elements' v<k> are
// integers, the elements in instance order. The file is read whole and
// parsed with simdjson's DOM parser (Debian's libsimdjson, as the PMDA's
// shim uses it), then each member is looked at once. Nothing is checked
// that the benchmark's data does not need: the element names, strings,
// other types; a value of another type is left as it was.
#include <simdjson.h>

#include <cstdint>
#include <string_view>

namespace {

// the number after a key's first letter, or -1
long numberAfter(std::string_view key) {
  if (key.size() < 2 || key.size() > 10) return -1;
  long n = 0;
  for (size_t i = 1; i < key.size(); i++) {
    char c = key[i];
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

}  // namespace

// Read `path` into ints[0, nints) and vals[(a * instances + i) * members + k]:
// 0, or -1 when the file cannot be read or parsed.
extern "C" int cread_load(const char *path, int nints, int64_t *ints, int arrays, int instances, int members, int64_t *vals) {
  static simdjson::dom::parser parser;
  simdjson::padded_string text;
  if (simdjson::padded_string::load(path).get(text)) return -1;
  simdjson::dom::object doc;
  if (parser.parse(text).get(doc)) return -1;
  for (auto field : doc) {
    long n = numberAfter(field.key);
    if (n < 0) continue;
    if (field.key[0] == 'm' && n < nints) {
      int64_t v;
      if (!field.value.get_int64().get(v)) ints[n] = v;
    } else if (field.key[0] == 'a' && n < arrays) {
      simdjson::dom::array rows;
      if (field.value.get_array().get(rows)) continue;
      long i = 0;
      for (auto row : rows) {
        if (i >= instances) break;
        simdjson::dom::object o;
        if (!row.get_object().get(o)) {
          for (auto member : o) {
            long k = numberAfter(member.key);
            int64_t v;
            if (member.key[0] == 'v' && k >= 0 && k < members && !member.value.get_int64().get(v)) vals[(n * instances + i) * members + k] = v;
          }
        }
        i++;
      }
    }
  }
  return 0;
}
