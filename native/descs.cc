// Metric descriptors: setDescs() replaces the table, the desc PDU reads it.
#include "descs.h"

#include <cstdint>
#include <cstring>

namespace pmdajson {

std::unordered_map<pmID, pmDesc> descs;

int descCallback(pmID pmid, pmDesc *desc, pmdaExt *) {
  auto it = descs.find(pmid);
  if (it == descs.end()) return PM_ERR_PMID;
  *desc = it->second;
  return 0;
}

namespace {

// setDescs(Int32Array of records [pmid, type, indom, sem, dimSpace, dimTime,
// dimCount, scaleSpace, scaleTime, scaleCount])
Napi::Value SetDescs(const Napi::CallbackInfo &info) {
  Napi::Int32Array a = info[0].As<Napi::Int32Array>();
  descs.clear();
  for (size_t i = 0; i + 10 <= a.ElementLength(); i += 10) {
    pmDesc d;
    memset(&d, 0, sizeof(d));
    d.pmid = (pmID)(uint32_t)a[i];
    d.type = a[i + 1];
    d.indom = (pmInDom)(uint32_t)a[i + 2];
    d.sem = a[i + 3];
    d.units.dimSpace = a[i + 4];
    d.units.dimTime = a[i + 5];
    d.units.dimCount = a[i + 6];
    d.units.scaleSpace = a[i + 7];
    d.units.scaleTime = a[i + 8];
    d.units.scaleCount = a[i + 9];
    descs[d.pmid] = d;
  }
  return info.Env().Undefined();
}

}  // namespace

// What this file adds to the module, one name a line: the shape of every
// native/*.cc's Register function (gather.cc's, ...), a table, not logic.
void RegisterDescs(Napi::Env env, Napi::Object exports) {
  exports.Set("setDescs", Napi::Function::New(env, SetDescs));
}

}  // namespace pmdajson
