// A fetch: JavaScript is called once with the pmids of the PDU and
// answers with one buffer of records; pmdaFetch then asks for each value,
// which fetchValue reads straight out of the buffer. A 64-bit value is
// not copied: its pmValueBlock is the entry itself (see fetchDesc), and
// the buffer is kept until libpcp_pmda has sent the result (fetchSent).
#include "fetch.h"
#include "descs.h"
#include "memory.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace pmdajson {
namespace {

Napi::FunctionReference jsFetch;      // (pmids: Uint32Array) => Buffer

// ---- values of the fetch in progress ------------------------------------
// Layout written by src/pmda/records/encoder.ts (little endian, 4-byte aligned):
//   int32 offset[numpmid]                    record offset per requested pmid
//   record: int32 count-or-error, int32 type,
//           count x { int32 inst, int32 reserved, 8 bytes value },
//           then the record's strings
//   reserved: this file writes there the header of a pmValueBlock whose
//   value is the 8 bytes after it (PM_VAL_HDR_SIZE + 8 bytes).
//   value: int64, double, or (strings) uint32 offset, from the start of the
//   record, of a NUL-terminated UTF-8 string.
struct Record {
  const uint8_t *base;
  int32_t count;
  int32_t type;
  const uint8_t *entries;
  int32_t cursor;
};
const uint8_t *fetchBase = nullptr;
size_t fetchLength = 0;
std::unordered_map<pmID, Record> fetchRecords;

constexpr size_t kEntrySize = 16;

Record *lastRecord = nullptr;
pmID lastPmid = PM_ID_NULL;

// pmdaFetch is running: its desc lookups are fetchDesc's
bool fetching = false;
// the value sets of the result whose blocks are in the buffer
std::vector<int> staticSets;

// The buffer of the last fetch: its entries are the value blocks of the
// result until libpcp_pmda has sent it.
Napi::Reference<Napi::ArrayBuffer> heldBuffer;
void *heldData = nullptr;
size_t heldLength = 0;

}  // namespace

// pmdaFetch copies a value into a block it mallocs (__pmStuffValue: 32
// bytes of heap for an int64, a million of them for million's fetch) unless
// the descriptor it looks up (no metric table: our desc callback) says the
// value is a static block of its own: during a fetch, the type of a metric
// whose record holds 64-bit values or doubles reads so, and fetchValue
// answers with the block in the buffer. The PDU is the same, byte for
// byte: libpcp_pmda copies vlen bytes from either block, the header holds
// the metric's own type, and the value set says PM_VAL_DPTR, as before,
// until it is sent (a PM_VAL_SPTR one then, for __pmFreeResultValues to
// leave its blocks alone).
int fetchDesc(pmID pmid, pmDesc *desc, pmdaExt *pmda) {
  int sts = descCallback(pmid, desc, pmda);
  if (sts < 0 || !fetching) return sts;
  if (desc->type != PM_TYPE_64 && desc->type != PM_TYPE_DOUBLE) return sts;
  auto it = fetchRecords.find(pmid);
  if (it != fetchRecords.end() && it->second.count > 0 && it->second.type == desc->type)
    desc->type = PM_TYPE_AGGREGATE_STATIC;
  return sts;
}

int fetchValue(pmdaMetric *metric, unsigned int inst, pmAtomValue *atom) {
  // pmdaFetch asks for one metric's instances in a row: remember its record
  if (lastRecord == nullptr || lastPmid != metric->m_desc.pmid) {
    auto it = fetchRecords.find(metric->m_desc.pmid);
    if (it == fetchRecords.end()) return PM_ERR_PMID;
    lastRecord = &it->second;
    lastPmid = metric->m_desc.pmid;
  }
  Record &r = *lastRecord;
  if (r.count < 0) return r.count;
  // Entries are sorted by instance, the order in which pmdaFetch walks an
  // indom (a table of native/indoms.cc, or a pmdaCache indom); resume where
  // the previous lookup stopped, else binary search.
  const int32_t want = (int32_t)inst;
  auto instAt = [&](int32_t i) {
    int32_t v;
    memcpy(&v, r.entries + (size_t)i * kEntrySize, 4);
    return v;
  };
  int32_t idx = -1;
  if (r.cursor < r.count && instAt(r.cursor) == want) {
    idx = r.cursor;
  } else {
    int32_t lo = 0, hi = r.count - 1;
    while (lo <= hi) {
      int32_t mid = lo + (hi - lo) / 2;
      int32_t v = instAt(mid);
      if (v == want) { idx = mid; break; }
      if ((uint32_t)v < (uint32_t)want) lo = mid + 1; else hi = mid - 1;
    }
  }
  if (idx < 0) return PMDA_FETCH_NOVALUES;
  r.cursor = idx + 1;
  const uint8_t *value = r.entries + (size_t)idx * kEntrySize + 8;
  if (metric->m_desc.type == PM_TYPE_AGGREGATE_STATIC) {
    // the block: a header in the entry's reserved word, then the value
    pmValueBlock head;
    memset(&head, 0, sizeof head);
    head.vtype = (unsigned int)r.type;
    head.vlen = PM_VAL_HDR_SIZE + 8;
    uint8_t *block = const_cast<uint8_t *>(value) - PM_VAL_HDR_SIZE;
    memcpy(block, &head, PM_VAL_HDR_SIZE);
    atom->vbp = reinterpret_cast<pmValueBlock *>(block);
    return PMDA_FETCH_STATIC;
  }
  switch (r.type) {
    case PM_TYPE_64:
      memcpy(&atom->ll, value, 8);
      break;
    case PM_TYPE_DOUBLE:
      memcpy(&atom->d, value, 8);
      break;
    case PM_TYPE_STRING: {
      uint32_t off;
      memcpy(&off, value, 4);
      if ((size_t)(r.base - fetchBase) + off >= fetchLength) return PM_ERR_VALUE;
      atom->cp = (char *)(r.base + off);
      break;
    }
    default:
      return PM_ERR_TYPE;
  }
  return PMDA_FETCH_STATIC;
}

namespace {

// pmdaFetch asks for no value of an indom with no instances: a record that
// is an error (the source is unavailable) still answers as one.
void errorsForEmpty(int sts, PduResult *result) {
  if (sts < 0 || result == nullptr) return;
  for (int i = 0; i < result->numpmid; i++) {
    pmValueSet *vs = result->vset[i];
    if (vs == nullptr || vs->numval != 0) continue;
    auto r = fetchRecords.find(vs->pmid);
    if (r != fetchRecords.end() && r->second.count < 0) vs->numval = r->second.count;
  }
}

// No fetch in progress: no records, no buffer.
void clearFetch() {
  fetchRecords.clear();
  lastRecord = nullptr;
  fetchBase = nullptr;
  fetchLength = 0;
}

// pmdaFetch over the records of this fetch, then clear them; the buffer
// they point into is kept alive (heldBuffer) until the result is sent.
int fetchFromRecords(int numpmid, pmID *pmids, PduResult **resp, pmdaExt *pmda) {
  fetching = true;
  int sts = pmdaFetch(numpmid, pmids, resp, pmda);
  fetching = false;
  staticSets.clear();
  if (sts >= 0 && *resp != nullptr) {
    for (int i = 0; i < (*resp)->numpmid; i++) {
      pmValueSet *vs = (*resp)->vset[i];
      if (vs == nullptr || vs->numval <= 0 || vs->valfmt != PM_VAL_SPTR) continue;
      vs->valfmt = PM_VAL_DPTR;
      staticSets.push_back(i);
    }
  }
  errorsForEmpty(sts, *resp);
  clearFetch();
  return sts;
}

// the pmids of a fetch go to JavaScript in one buffer, kept from fetch to
// fetch (it grows as needed): a view of it per fetch, not a new buffer
Napi::Reference<Napi::ArrayBuffer> pmidBuffer;
size_t pmidCapacity = 0;

}  // namespace

void bindFetch(const Napi::Object &o) {
  jsFetch = Napi::Persistent(o.Get("fetch").As<Napi::Function>());
}

int fetchCallback(int numpmid, pmID *pmids, PduResult **resp, pmdaExt *pmda) {
  Napi::Env env = jsFetch.Env();
  Napi::HandleScope scope(env);
  if (pmidBuffer.IsEmpty() || (size_t)numpmid > pmidCapacity) {
    pmidCapacity = std::max<size_t>((size_t)numpmid, 256);
    pmidBuffer = Napi::Persistent(Napi::ArrayBuffer::New(env, pmidCapacity * sizeof(uint32_t)));
  }
  Napi::ArrayBuffer room = pmidBuffer.Value();
  memcpy(room.Data(), pmids, (size_t)numpmid * sizeof(uint32_t));
  Napi::Uint32Array list = Napi::Uint32Array::New(env, numpmid, room, 0);
  Napi::Value out = callJs(jsFetch, "fetch", {list});
  clearFetch();
  heldLength = 0;
  if (!out.IsBuffer()) {
    // JavaScript failed: every metric is temporarily unavailable
    for (int i = 0; i < numpmid; i++) fetchRecords[pmids[i]] = Record{nullptr, PM_ERR_AGAIN, 0, nullptr, 0};
    return fetchFromRecords(numpmid, pmids, resp, pmda);
  }
  Napi::Buffer<uint8_t> buf = out.As<Napi::Buffer<uint8_t>>();
  fetchBase = buf.Data();
  fetchLength = buf.Length();
  if (fetchLength >= (size_t)numpmid * 4) {
    for (int i = 0; i < numpmid; i++) {
      uint32_t off;
      memcpy(&off, fetchBase + (size_t)i * 4, 4);
      if ((size_t)off + 8 > fetchLength) continue;
      Record r;
      r.base = fetchBase + off;
      memcpy(&r.count, r.base, 4);
      memcpy(&r.type, r.base + 4, 4);
      r.entries = r.base + 8;
      r.cursor = 0;
      if (r.count > 0 && (size_t)(r.entries - fetchBase) + (size_t)r.count * kEntrySize > fetchLength)
        r.count = PM_ERR_VALUE;
      fetchRecords[pmids[i]] = r;
    }
  }
  noteBuffer(buf);
  // the result's value blocks are in the buffer: keep it until it is sent
  Napi::ArrayBuffer ab = buf.ArrayBuffer();
  if (ab.Data() != heldData) {
    heldBuffer = Napi::Persistent(ab);
    heldData = ab.Data();
  }
  heldLength = fetchLength;
  return fetchFromRecords(numpmid, pmids, resp, pmda);
}

void fetchSent(PduResult *result) {
  for (int i : staticSets)
    if (result != nullptr && i < result->numpmid) result->vset[i]->valfmt = PM_VAL_SPTR;
  staticSets.clear();
  if (heldData == nullptr) return;
  fetchedBuffer(heldBuffer.Value(), heldLength);
}

}  // namespace pmdajson
