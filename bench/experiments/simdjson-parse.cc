// simdjson's DOM parse of one document, in a loop: the floor of the
// query's parse (native/query.cc).
//   g++ -O2 -std=c++17 bench/experiments/simdjson-parse.cc -lsimdjson -o /tmp/sjparse
//   /tmp/sjparse FILE
#include <simdjson.h>

#include <chrono>
#include <cstdio>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: sjparse FILE\n");
    return 2;
  }
  simdjson::padded_string text;
  if (simdjson::padded_string::load(argv[1]).get(text)) return 1;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const int n = 1000;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; i++) {
    if (parser.parse(text).get(doc)) return 1;
  }
  auto t1 = std::chrono::steady_clock::now();
  printf("%s (%zu bytes): %.4f ms a parse, %s\n", argv[1], text.size(),
         std::chrono::duration<double, std::milli>(t1 - t0).count() / n,
         simdjson::get_active_implementation()->name().c_str());
  return 0;
}
