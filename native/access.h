// Opening an untrusted source's files with its author's credentials.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

namespace pmdajson {
void RegisterAccess(Napi::Env env, Napi::Object exports);
// What lstat says of each of the `n` paths from `paths`, STAT_FIELDS
// numbers each into `out` (the stamps() of JavaScript): thousands are
// shared with a second thread, if `share` (and one can be started).
void stampPaths(const std::string *paths, size_t n, double *out, bool share = true);
extern const int STAT_FIELDS_COUNT;
}
