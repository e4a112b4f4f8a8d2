// simdjson's On-Demand interface against its DOM parse, on the big
// document: the On-Demand loop takes the values the big source's pointers
// name (100 scalars m0..m99, and name, v0..v4 of every element of a0)
// into 16-byte slots, as native/query.cc does after a DOM parse. Measured
// to decide whether On-Demand should replace the DOM parse (it does not:
// it leaves values it skips unchecked, docs/BENCHMARKS.md).
//   g++ -O2 -std=c++17 bench/experiments/ondemand.cc -lsimdjson -o /tmp/ondemand
//   node -e "import('./bench/data.mjs').then(async ({ dataText }) => { const { bigShape } = await import('./bench/workloads/shapes.mjs'); require('fs').writeFileSync('/tmp/big.json', dataText({ name: 'big', ...bigShape }, 1)); })"
//   /tmp/ondemand /tmp/big.json
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

using namespace simdjson;

struct Slot {
  int32_t kind, length;
  int64_t v;
};

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: ondemand FILE\n");
    return 2;
  }
  padded_string text;
  if (padded_string::load(argv[1]).get(text)) return 1;
  std::vector<std::string> keys;
  std::unordered_map<std::string_view, int> top;
  keys.reserve(100);
  for (int i = 0; i < 100; i++) keys.push_back("m" + std::to_string(i));
  for (int i = 0; i < 100; i++) top[keys[i]] = 1 + i;
  std::vector<Slot> slots;
  slots.reserve(20000);
  ondemand::parser parser;
  const int n = 2000;
  auto t0 = std::chrono::steady_clock::now();
  for (int it = 0; it < n; it++) {
    slots.clear();
    slots.resize(102);
    ondemand::document doc = parser.iterate(text);
    for (auto field : doc.get_object()) {
      std::string_view k = field.unescaped_key();
      if (k == "a0") {
        for (auto el : field.value().get_array()) {
          size_t at = slots.size();
          slots.resize(at + 7);
          for (auto f : el.get_object()) {
            std::string_view kk = f.unescaped_key().value_unsafe();
            int c = kk == "name" ? 1 : (kk.size() == 2 && kk[0] == 'v') ? 2 + (kk[1] - '0') : -1;
            if (c < 0) continue;
            ondemand::value v = f.value();
            if (c == 1) {
              std::string_view s = v.get_string();
              slots[at + c].kind = 7;
              slots[at + c].length = (int32_t)s.size();
            } else {
              int64_t x;
              if (!v.get_int64().get(x)) slots[at + c] = {4, 0, x};
            }
          }
        }
        continue;
      }
      auto found = top.find(k);
      if (found == top.end()) continue;
      int64_t x;
      if (!field.value().get_int64().get(x)) slots[found->second] = {4, 0, x};
    }
  }
  auto t1 = std::chrono::steady_clock::now();
  printf("On-Demand, the values into slots: %.4f ms a document (%zu slots)\n", std::chrono::duration<double, std::milli>(t1 - t0).count() / n, slots.size());
  dom::parser dp;
  dom::element d;
  t0 = std::chrono::steady_clock::now();
  for (int it = 0; it < n; it++)
    if (dp.parse(text).get(d)) return 1;
  t1 = std::chrono::steady_clock::now();
  printf("DOM parse alone: %.4f ms a document\n", std::chrono::duration<double, std::milli>(t1 - t0).count() / n);
  return 0;
}
