// Store: the values of a store PDU handed to JavaScript as three typed
// arrays (pmids, instances, values as doubles), its answer the PDU's status.
#include "store.h"
#include "descs.h"

namespace pmdajson {
namespace {

Napi::FunctionReference jsStore;      // (pmids, insts, values as doubles) => status

}  // namespace

void bindStore(const Napi::Object &o) {
  jsStore = Napi::Persistent(o.Get("store").As<Napi::Function>());
}

// Store: JavaScript decides what a store means; numeric values are handed
// over as doubles (pmExtractValue), strings are not accepted.
int storeCallback(PduResult *result, pmdaExt *) {
  if (jsStore.IsEmpty()) return PM_ERR_PERMISSION;
  Napi::Env env = jsStore.Env();
  Napi::HandleScope scope(env);
  size_t n = 0;
  for (int i = 0; i < result->numpmid; i++) n += result->vset[i]->numval > 0 ? result->vset[i]->numval : 0;
  Napi::Uint32Array pmids = Napi::Uint32Array::New(env, n);
  Napi::Int32Array insts = Napi::Int32Array::New(env, n);
  Napi::Float64Array values = Napi::Float64Array::New(env, n);
  size_t k = 0;
  for (int i = 0; i < result->numpmid; i++) {
    pmValueSet *vs = result->vset[i];
    auto d = descs.find(vs->pmid);
    for (int j = 0; j < vs->numval; j++, k++) {
      pmids[k] = vs->pmid;
      insts[k] = vs->vlist[j].inst;
      pmAtomValue atom;
      values[k] = (d != descs.end() && d->second.type != PM_TYPE_STRING &&
                   pmExtractValue(vs->valfmt, &vs->vlist[j], d->second.type, &atom, PM_TYPE_DOUBLE) >= 0)
                      ? atom.d : 0;
    }
  }
  Napi::Value v = callJs(jsStore, "store", {pmids, insts, values});
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : PM_ERR_GENERIC;
}

}  // namespace pmdajson
