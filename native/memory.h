// Resident pages the PMDA no longer needs: node's start-up code, and the
// part of a big fetch's buffer that the next fetch will write again.
#pragma once
#include <napi.h>

#include <cstddef>

namespace pmdajson {
void RegisterMemory(Napi::Env env, Napi::Object exports);
// Give the whole pages of [data + keep, data + length) back to the system:
// they read as zeros until written again. For memory this process owns
// and whose contents it no longer needs.
void releasePages(void *data, size_t length, size_t keep);
}
