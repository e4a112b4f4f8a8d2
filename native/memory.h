// Memory the PMDA no longer needs, given back: what malloc holds free,
// the resident pages of node's start-up code, and the part of a big
// fetch's buffer that the next fetch will write again.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace pmdajson {
void RegisterMemory(Napi::Env env, Napi::Object exports);
// Give the whole pages of [data + keep, data + length) back to the system:
// they read as zeros until written again. For memory this process owns
// and whose contents it no longer needs.
void releasePages(void *data, size_t length, size_t keep);
// A fetch's buffer (the encoder's, reused from fetch to fetch): kept, when
// it is big, for rest() to give back its pages.
void noteBuffer(const Napi::Buffer<uint8_t> &buf);
// The result of a fetch, whose values were in `used` bytes of this buffer,
// is sent: if they were many, the buffer's pages go.
void fetchedBuffer(Napi::ArrayBuffer ab, size_t used);
}
