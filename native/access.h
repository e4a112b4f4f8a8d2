// Opening an untrusted source's files with its author's credentials.
#pragma once
#include <napi.h>

namespace pmdajson {
void RegisterAccess(Napi::Env env, Napi::Object exports);
}
