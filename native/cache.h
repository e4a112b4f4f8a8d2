// pmdaCache for TypeScript: the numbering caches and instance domains.
#pragma once
#include <napi.h>

namespace pmdajson {
/** The PMDA's domain, for identifiers built here (set by init, or setDomain). */
extern int domain;
void RegisterCache(Napi::Env env, Napi::Object exports);
}
