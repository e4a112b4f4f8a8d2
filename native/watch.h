// Directory change notification (inotify), read synchronously.
#pragma once
#include <napi.h>

namespace pmdajson {
void RegisterWatch(Napi::Env env, Napi::Object exports);
}
