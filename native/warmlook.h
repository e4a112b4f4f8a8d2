// A warm start's look at what was kept, on a thread of its own.
#pragma once
#include <napi.h>

namespace pmdajson {
void RegisterWarmLook(Napi::Env env, Napi::Object exports);
}
