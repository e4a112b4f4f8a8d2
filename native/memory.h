// Resident pages the PMDA no longer needs: node's start-up code.
#pragma once
#include <napi.h>

namespace pmdajson {
void RegisterMemory(Napi::Env env, Napi::Object exports);
}
