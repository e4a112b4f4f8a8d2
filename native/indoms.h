// Instance domains as tables (pmdaIndom), for libpcp_pmda's pmdaFetch and
// pmdaInstance: the instances of each source, as JavaScript numbered them.
#pragma once
#include <napi.h>

extern "C" {
#include <pcp/pmapi.h>
#include <pcp/pmda.h>
}

namespace pmdajson {
void RegisterIndoms(Napi::Env env, Napi::Object exports);
// From now on libpcp_pmda reads the tables through `ext` (after pmdaInit).
void attachIndoms(pmdaExt *ext);
}
