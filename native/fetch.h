// A fetch: the pmids asked for handed to JavaScript, the values it
// answers with (one buffer, src/pmda/records/encoder.ts) decoded for
// pmdaFetch.
#pragma once
#include <napi.h>

#include "pmda_json.h"

namespace pmdajson {
// Take the fetch function of start()'s object.
void bindFetch(const Napi::Object &callbacks);
// The fetch callback of libpcp_pmda's interface table, and pmdaFetch's
// callback for each value.
int fetchCallback(int numpmid, pmID *pmids, PduResult **resp, pmdaExt *pmda);
int fetchValue(pmdaMetric *metric, unsigned int inst, pmAtomValue *atom);
// The desc callback of the interface table: descs.cc's, which during a
// fetch makes 64-bit values static blocks in the fetch's buffer.
int fetchDesc(pmID pmid, pmDesc *desc, pmdaExt *pmda);
// libpcp_pmda has sent the result of the last fetch (its result callback,
// before the result is freed).
void fetchSent(PduResult *result);
}
