// The PMDA log (pmNotifyErr): what TypeScript writes to it, PCP's error
// text, and the escaping of the lines the shim writes itself.
#pragma once
#include <napi.h>

#include <string>

namespace pmdajson {
void RegisterLog(Napi::Env env, Napi::Object exports);
// `s` as the log takes it (escape() in src/pmda/limits/log.ts).
std::string printable(const std::string &s);
// Log an exception JavaScript threw in a callback.
void logPendingException(Napi::Env env, const char *where, const Napi::Error &e);
}
