// Metric descriptors: the table TypeScript hands over whole (setDescs),
// answering the desc PDU.
#pragma once
#include <napi.h>

extern "C" {
#include <pcp/pmapi.h>
#include <pcp/pmda.h>
}

#include <unordered_map>

namespace pmdajson {
void RegisterDescs(Napi::Env env, Napi::Object exports);
// The descriptors, by PMID (a store converts values to their type).
extern std::unordered_map<pmID, pmDesc> descs;
// The desc callback of libpcp_pmda's interface table.
int descCallback(pmID pmid, pmDesc *desc, pmdaExt *);
}
