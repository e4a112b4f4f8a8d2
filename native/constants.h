// What PCP defines, for TypeScript: its constants, its units syntax
// (pmParseUnitsStr) and its configuration variables ($PCP_*).
#pragma once
#include <napi.h>

namespace pmdajson {
void RegisterConstants(Napi::Env env, Napi::Object exports);
}
