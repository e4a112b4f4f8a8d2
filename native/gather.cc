// Gather: the integers of one array member, copied from a query's slots
// (native/query.cc) into the record a fetch is writing (src/pmda/records/encoder.ts).
//
// JavaScript decides everything: which rows, their instance ids, where
// each row's slot is (its element, the column, the order of an object
// map), and what the slots' kind must be. This copies, for each row, the
// instance id and the slot's 8 bytes of value as they are, stopping at the first
// slot of another kind, which JavaScript then converts itself: it is the
// loop of Encoder.int64Column, where a loop of typed-array accesses in
// JavaScript costs about ten times as much per value.
#include "gather.h"

#include <cstdint>
#include <cstring>

namespace pmdajson {
namespace {

template <typename T>
T *dataOf(const Napi::Value &v, size_t &length) {
  Napi::TypedArray t = v.As<Napi::TypedArray>();
  length = t.ByteLength() / sizeof(T);
  return reinterpret_cast<T *>(static_cast<uint8_t *>(t.ArrayBuffer().Data()) + t.ByteOffset());
}

// gatherInt64(values: Int32Array, kinds: Uint8Array, first, width,
//             order: Int32Array | null, elements: Int32Array,
//             insts: Int32Array, from, to, out: Int32Array, at (a word),
//             kind) => the row it stopped at
Napi::Value GatherInt64(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  size_t nValues, nKinds, nOrder = 0, nElements, nInsts, nOut;
  const int32_t *values = dataOf<int32_t>(info[0], nValues);
  const uint8_t *kinds = dataOf<uint8_t>(info[1], nKinds);
  int64_t first = info[2].As<Napi::Number>().Int64Value();
  int64_t width = info[3].As<Napi::Number>().Int64Value();
  const int32_t *order = info[4].IsTypedArray() ? dataOf<int32_t>(info[4], nOrder) : nullptr;
  const int32_t *elements = dataOf<int32_t>(info[5], nElements);
  const int32_t *insts = dataOf<int32_t>(info[6], nInsts);
  int64_t from = info[7].As<Napi::Number>().Int64Value();
  int64_t to = info[8].As<Napi::Number>().Int64Value();
  int32_t *out = dataOf<int32_t>(info[9], nOut);
  int64_t at = info[10].As<Napi::Number>().Int64Value();
  int32_t kind = info[11].As<Napi::Number>().Int32Value();
  if (from < 0 || to < from || (size_t)to > nElements || (size_t)to > nInsts || at < 0 || (size_t)(at + 4 * (to - from)) > nOut)
    throw Napi::RangeError::New(env, "gatherInt64: bad range");
  int64_t r = from;
  for (; r < to; r++) {
    int64_t e = elements[r];
    if (order) {
      if (e < 0 || (size_t)e >= nOrder) break;
      e = order[e];
    }
    int64_t s = first + e * width;
    if (e < 0 || s < 0 || (size_t)s >= nKinds || (size_t)(2 * s + 2) > nValues || kinds[s] != kind) break;
    out[at] = insts[r];
    out[at + 1] = 0;
    std::memcpy(&out[at + 2], &values[2 * s], 8);
    at += 4;
  }
  return Napi::Number::New(env, static_cast<double>(r));
}

}  // namespace

// What this file adds to the module, one name a line: the shape of every
// native/*.cc's Register function (descs.cc's, ...), a table, not logic.
void RegisterGather(Napi::Env env, Napi::Object exports) {
  exports.Set("gatherInt64", Napi::Function::New(env, GatherInt64));
}

}  // namespace pmdajson
