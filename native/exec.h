// data-exec commands: started in the background, contained, collected.
#pragma once
#include <napi.h>

namespace pmdajson {
void RegisterExec(Napi::Env env, Napi::Object exports);
}
