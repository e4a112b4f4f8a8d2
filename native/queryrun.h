// A JSON query's run: a data document parsed by simdjson, the compiled
// query's pointers looked up in it, the values found written as slots (8
// bytes and a kind byte).
#pragma once
#include <napi.h>

namespace pmdajson {
// What queryRun answers for a document it leaves to JavaScript's parser.
constexpr int NOT_PARSED = -1;
void RegisterQueryRun(Napi::Env env, Napi::Object exports);
}
