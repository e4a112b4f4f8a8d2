// Copying integers from a query's slots into a fetch's records.
#pragma once
#include <napi.h>

namespace pmdajson {
void RegisterGather(Napi::Env env, Napi::Object exports);
}
