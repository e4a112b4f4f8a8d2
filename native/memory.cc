// Memory given back (src/pmda/memory.ts): once start-up is over
// (settle), the pages of node's own code that only start-up used; then,
// and after a burst of big fetches (rest), what malloc holds free and the
// pages of the fetch buffer past its first 64 KiB.
//
// Starting node, and compiling the PMDA's modules, touches some 45 MiB of
// node's binary and libraries (its parser, its snapshot, ICU's tables),
// and those pages stay in the PMDA's resident set for as long as it runs,
// though a fetch uses about half of them. settle() tells the kernel
// (madvise MADV_DONTNEED) that this process does not need the resident
// pages of its read-only file mappings; the ones used again come back
// from the page cache at their next use, a minor fault each. The pages
// themselves stay in the page cache, shared with every other process.
//
// Only mappings of a file, without write permission, that hold no page
// of their own (smaps "Anonymous: 0 kB": nothing copied on write, such
// as relocations) are dropped: for those, every page is the file's page,
// and dropping it loses nothing. A mapping that is writable, anonymous
// (node's heap, V8's code space, huge-page copies of .text) or has
// private pages is left alone.
#include "memory.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include <cstdio>
#include <cstring>
#include <vector>

namespace pmdajson {
namespace {

struct Range {
  unsigned long from, to;
};

// The read-only file mappings of this process whose pages are all the file's.
std::vector<Range> sheddable() {
  std::vector<Range> out;
  FILE *f = fopen("/proc/self/smaps", "re");
  if (f == nullptr) return out;
  char line[4096];
  Range cur{0, 0};
  bool candidate = false;
  while (fgets(line, sizeof line, f) != nullptr) {
    unsigned long from, to, offset, inode;
    char perms[8], dev[32];
    if (sscanf(line, "%lx-%lx %7s %lx %31s %lu", &from, &to, perms, &offset, dev, &inode) == 6) {
      cur = Range{from, to};
      candidate = inode != 0 && perms[1] != 'w' && perms[3] == 'p';
      continue;
    }
    long kb;
    if (candidate && sscanf(line, "Anonymous: %ld kB", &kb) == 1) {
      if (kb == 0) out.push_back(cur);
      candidate = false;
    }
  }
  fclose(f);
  return out;
}

// the resident pages of those mappings dropped => their bytes
double shed() {
  double bytes = 0;
  for (const Range &r : sheddable())
    if (madvise(reinterpret_cast<void *>(r.from), r.to - r.from, MADV_DONTNEED) == 0) bytes += (double)(r.to - r.from);
  return bytes;
}

// settle() => bytes of the mappings whose resident pages were dropped
Napi::Value Settle(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), shed());
}

// After a burst of big fetches JavaScript calls rest() (src/pmda/memory.ts),
// once it has collected its garbage: the freed value blocks go back to the
// system (a fetch of 100,000 values mallocs that many small blocks; without
// a trim the heap keeps them), and so do the pages of the fetch buffer past
// its first 64 KiB (a million values: 16 MiB, which the next fetch writes
// again before it reads them). Until then a reference keeps the buffer
// alive, so the pages given back are still its own.
constexpr size_t kBufferKept = 64 * 1024;
Napi::Reference<Napi::ArrayBuffer> bigBuffer;
uint8_t *bigData = nullptr;
size_t bigLength = 0;

// rest() : malloc_trim, and the big fetch buffer's pages given back
Napi::Value Rest(const Napi::CallbackInfo &info) {
  malloc_trim(0);
  if (bigData != nullptr) releasePages(bigData, bigLength, kBufferKept);
  bigData = nullptr;
  bigLength = 0;
  bigBuffer.Reset();
  return info.Env().Undefined();
}

}  // namespace

// a fetch's buffer (the encoder's, reused from fetch to fetch), when it is big
void noteBuffer(const Napi::Buffer<uint8_t> &buf) {
  if (buf.Length() <= kBufferKept) return;
  Napi::ArrayBuffer ab = buf.ArrayBuffer();
  uint8_t *data = static_cast<uint8_t *>(ab.Data());
  if (data == bigData) return;
  bigBuffer = Napi::Persistent(ab);
  bigData = data;
  bigLength = ab.ByteLength();
}

// A huge fetch (a million values: a 16 MiB buffer) is answered with a
// result that points into the buffer (native/fetch.cc), and then with a
// PDU of 20 bytes a value that libpcp_pmda encodes from it: once that is
// sent, the buffer's pages go (they would stay until rest() otherwise).
// The next huge fetch writes them again, a page fault each (4,000 for a
// million values); below kReleasedAbove (131,072 values: wide's 100,000
// are below) they are kept until rest().
constexpr size_t kReleasedAbove = 2 * 1024 * 1024;

void fetchedBuffer(Napi::ArrayBuffer ab, size_t used) {
  if (used <= kReleasedAbove) return;
  releasePages(ab.Data(), ab.ByteLength(), kBufferKept);
}

void releasePages(void *data, size_t length, size_t keep) {
  if (length <= keep) return;
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t from = ((uintptr_t)data + keep + page - 1) & ~(page - 1);
  uintptr_t to = ((uintptr_t)data + length) & ~(page - 1);
  if (to > from) madvise(reinterpret_cast<void *>(from), to - from, MADV_DONTNEED);
}

void RegisterMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("settle", Napi::Function::New(env, Settle));
  exports.Set("rest", Napi::Function::New(env, Rest));
}

}  // namespace pmdajson
