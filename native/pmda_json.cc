// pmda-json native shim: the thinnest layer between Node.js and libpcp_pmda.
//
// Everything PCP-protocol related is done by libpcp_pmda itself: option
// handling (pmdaDaemon), logging (pmdaOpenLog), PDU decoding and encoding
// (__pmdaMainPDU), result assembly and profiles (pmdaFetch), instance
// requests (pmdaInstance over the indom tables of native/indoms.cc and
// the pmdaCache indom of the sources), help text and labels.
// This file only
//   - drives __pmdaMainPDU from libuv when the pmcd pipe is readable,
//   - keeps three tables that TypeScript hands over whole: metric
//     descriptors, the dynamic namespace and the values of one fetch,
//   - exposes pmParseUnitsStr, pmdaCache and pmNotifyErr to TypeScript.
// There is no metric logic here.

#include <napi.h>
#include "access.h"
#include "exec.h"
#include "cache.h"
#include "watch.h"
#include "query.h"
#include "gather.h"
#include "memory.h"
#include "names.h"
#include "indoms.h"
#include <uv.h>

extern "C" {
#include <pcp/pmapi.h>
#include <pcp/pmda.h>
}

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <unistd.h>
#include <malloc.h>
#include <vector>
#include <cstdint>
#include <type_traits>

namespace pmdajson {
int domain = 0;
}
using pmdajson::domain;

namespace {

pmdaInterface dispatch;
bool initialised = false;
bool started = false;

// The result a PMDA callback fills: pmResult up to PCP 6, pmdaResult
// (pmResult_v2) from PCP 7 on. Taken from the type libpcp_pmda's own
// result callback takes, so one source builds against either.
template <typename F> struct FirstArg;
template <typename R, typename A> struct FirstArg<R (*)(A)> { using type = A; };
using PduResult = std::remove_pointer_t<FirstArg<pmdaResultCallBack>::type>;

Napi::FunctionReference jsFetch;      // (pmids: Uint32Array) => Buffer
Napi::FunctionReference jsRefresh;    // (indom) => void, once per namespace/instance PDU
Napi::FunctionReference jsText;       // (ident, type) => string | null
Napi::FunctionReference jsExit;       // (status) => void
Napi::FunctionReference jsLabels;     // (type, ident) => JSON object text | null
Napi::FunctionReference jsInstLabels; // (indom, inst) => JSON object text | null
Napi::FunctionReference jsStore;      // (pmids, insts, values as doubles) => status

uv_poll_t pollHandle;
// one async context for every PDU: creating one per PDU costs an
// async_hooks init each time
napi_async_context pduContext = nullptr;

// ---- descriptor table -------------------------------------------------
std::unordered_map<pmID, pmDesc> descs;

// ---- namespace ---------------------------------------------------------
std::unique_ptr<pmdajson::NameTable> pmns;

// ---- values of the fetch in progress ------------------------------------
// Layout written by src/pmda/records/encoder.ts (little endian, 4-byte aligned):
//   int32 offset[numpmid]                    record offset per requested pmid
//   record: int32 count-or-error, int32 type,
//           count x { int32 inst, int32 reserved, 8 bytes value },
//           then the record's strings
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
std::string textBuffer;

constexpr size_t kEntrySize = 16;

// The log's escaping rule (escape() in src/pmda/log.ts), for the few lines
// the shim writes itself, whose text may hold what users wrote: C0
// controls, DEL, C1 controls, U+2028/2029 and the bidirectional controls
// as \uXXXX (\n \r \t for those three), bytes that are not UTF-8
// (surrogates included) as \xNN; at most 4096 bytes of it.
std::string printable(const std::string &s) {
  std::string out;
  char esc[16];
  for (size_t i = 0; i < s.size() && out.size() < 4096;) {
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; k++) {
      unsigned char b = s[i + k];
      ok = (b & 0xC0) == 0x80;
      cp = (cp << 6) | (b & 0x3F);
    }
    // overlong forms, surrogates and code points past U+10FFFF are not UTF-8 either
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    if (ok && (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) {
      snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
      i++;
      continue;
    }
    if (cp == '\n') out += "\\n";
    else if (cp == '\r') out += "\\r";
    else if (cp == '\t') out += "\\t";
    else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F || (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
      snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
      out += esc;
    } else out.append(s, i, n);
    i += n;
  }
  return out;
}

void logPendingException(Napi::Env env, const char *where, const Napi::Error &e) {
  (void)env;
  pmNotifyErr(LOG_ERR, "%s: %s", where, printable(e.Message()).c_str());
}

// Call into JavaScript from a libpcp_pmda callback. We are always inside
// onReadable's callback scope, so a plain Call is right.
Napi::Value callJs(Napi::FunctionReference &fn, const char *where,
                   const std::initializer_list<napi_value> &args) {
  Napi::Env env = fn.Env();
  try {
    return fn.Call(args);
  } catch (const Napi::Error &e) {
    logPendingException(env, where, e);
    return env.Undefined();
  }
}

// PDUs received, and the PDU whose sources JavaScript last refreshed: a
// namespace PDU may call pmid() once per name, but refreshes once.
unsigned pduSeq = 0, refreshedSeq = 0;

int checkCallback(void) {
  pduSeq++;
  return 0;
}

void refreshFromJs(pmInDom indom = PM_INDOM_NULL) {
  if (jsRefresh.IsEmpty() || refreshedSeq == pduSeq) return;
  refreshedSeq = pduSeq;
  Napi::Env env = jsRefresh.Env();
  Napi::HandleScope scope(env);
  callJs(jsRefresh, "refresh", {Napi::Number::New(env, indom)});
}

// ---- libpcp_pmda callbacks ---------------------------------------------

int descCallback(pmID pmid, pmDesc *desc, pmdaExt *) {
  auto it = descs.find(pmid);
  if (it == descs.end()) return PM_ERR_PMID;
  *desc = it->second;
  return 0;
}

Record *lastRecord = nullptr;
pmID lastPmid = PM_ID_NULL;

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
  // Entries are sorted by instance, as pmdaCache walks them; resume where
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
// they point into is kept alive by the caller until this returns.
int fetchFromRecords(int numpmid, pmID *pmids, PduResult **resp, pmdaExt *pmda) {
  int sts = pmdaFetch(numpmid, pmids, resp, pmda);
  errorsForEmpty(sts, *resp);
  clearFetch();
  return sts;
}

// the pmids of a fetch go to JavaScript in one buffer, kept from fetch to
// fetch (it grows as needed): a view of it per fetch, not a new buffer
Napi::Reference<Napi::ArrayBuffer> pmidBuffer;
size_t pmidCapacity = 0;

void noteBuffer(const Napi::Buffer<uint8_t> &buf);

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
  // `buf` keeps the buffer alive until pmdaFetch has copied every value
  return fetchFromRecords(numpmid, pmids, resp, pmda);
}

int instanceCallback(pmInDom indom, int inst, char *name, pmInResult **result, pmdaExt *pmda) {
  refreshFromJs(indom);
  return pmdaInstance(indom, inst, name, result, pmda);
}

int textCallback(int ident, int type, char **buffer, pmdaExt *) {
  if (jsText.IsEmpty()) return PM_ERR_TEXT;
  Napi::Env env = jsText.Env();
  Napi::HandleScope scope(env);
  Napi::Value v = callJs(jsText, "text", {Napi::Number::New(env, ident), Napi::Number::New(env, type)});
  if (!v.IsString()) return PM_ERR_TEXT;
  textBuffer = v.As<Napi::String>().Utf8Value();
  *buffer = (char *)textBuffer.c_str();
  return 0;
}

int pmidCallback(const char *name, pmID *pmid, pmdaExt *) {
  refreshFromJs();
  if (pmns == nullptr) return PM_ERR_NAME;
  return pmns->pmid(name, pmid);
}

int nameCallback(pmID pmid, char ***names, pmdaExt *) {
  refreshFromJs();
  if (pmns == nullptr) return PM_ERR_PMID;
  return pmns->names(pmid, names);
}

int childrenCallback(const char *name, int traverse, char ***kids, int **sts, pmdaExt *) {
  refreshFromJs();
  if (pmns == nullptr) return PM_ERR_NAME;
  return pmns->children(name, traverse, kids, sts);
}

// Add a label set that JavaScript bounded to what libpcp takes. Should one
// still be refused, it is not handed on: pmdaAddLabels logs a refused set
// whole (64 KiB), at every request. Only its size is logged here.
int addLabels(pmLabelSet **lpp, const std::string &json, const char *what, unsigned int ident) {
  if (json.size() + 1 >= PM_MAXLABELJSONLEN) {
    pmNotifyErr(LOG_WARNING, "%s of %u: %zu bytes of JSON, more than PCP takes: not served", what, ident, json.size());
    return 0;
  }
  int sts = pmdaAddLabels(lpp, "%s", json.c_str());
  if (sts < 0) pmNotifyErr(LOG_WARNING, "%s of %u: %zu bytes of JSON refused: %s", what, ident, json.size(), pmErrStr(sts));
  return sts;
}

// Labels: pmdaLabel does the work (domain and context labels, flags,
// instance iteration); JavaScript supplies the JSON text of ours.
int labelCallback(int ident, int type, pmLabelSet **lpp, pmdaExt *pmda) {
  int t = type & ~(PM_LABEL_COMPOUND | PM_LABEL_OPTIONAL);
  if (!jsLabels.IsEmpty() && (t == PM_LABEL_DOMAIN || t == PM_LABEL_CLUSTER || t == PM_LABEL_ITEM || t == PM_LABEL_INDOM)) {
    Napi::Env env = jsLabels.Env();
    Napi::HandleScope scope(env);
    Napi::Value v = callJs(jsLabels, "labels", {Napi::Number::New(env, t), Napi::Number::New(env, (uint32_t)ident)});
    if (v.IsString()) addLabels(lpp, v.As<Napi::String>().Utf8Value(), "labels", ident);
  }
  return pmdaLabel(ident, type, lpp, pmda);
}

int instanceLabelCallback(pmInDom indom, unsigned int inst, pmLabelSet **lp) {
  if (jsInstLabels.IsEmpty()) return 0;
  Napi::Env env = jsInstLabels.Env();
  Napi::HandleScope scope(env);
  Napi::Value v = callJs(jsInstLabels, "instance labels", {Napi::Number::New(env, indom), Napi::Number::New(env, inst)});
  if (!v.IsString()) return 0;
  return addLabels(lp, v.As<Napi::String>().Utf8Value(), "instance labels", inst);
}

// Store: JavaScript decides what a store means; numeric values are handed
// over as doubles (pmExtractValue), strings are not accepted.
int storeCallback(PduResult *result, pmdaExt *) {
  if (jsStore.IsEmpty()) return PM_ERR_PERMISSION;
  Napi::Env env = jsStore.Env();
  Napi::HandleScope scope(env);
  size_t n = 0;
  for (int i = 0; i < result->numpmid; i++) n += result->vset[i]->numval > 0 ? result->vset[i]->numval : 0;
  Napi::Uint32Array pmids = Napi::Uint32Array::New(env, n);
  Napi::Int32Array insts = Napi::Int32Array::New(env, n);
  Napi::Float64Array values = Napi::Float64Array::New(env, n);
  size_t k = 0;
  for (int i = 0; i < result->numpmid; i++) {
    pmValueSet *vs = result->vset[i];
    auto d = descs.find(vs->pmid);
    for (int j = 0; j < vs->numval; j++, k++) {
      pmids[k] = vs->pmid;
      insts[k] = vs->vlist[j].inst;
      pmAtomValue atom;
      values[k] = (d != descs.end() && d->second.type != PM_TYPE_STRING &&
                   pmExtractValue(vs->valfmt, &vs->vlist[j], d->second.type, &atom, PM_TYPE_DOUBLE) >= 0)
                      ? atom.d : 0;
    }
  }
  Napi::Value v = callJs(jsStore, "store", {pmids, insts, values});
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : PM_ERR_GENERIC;
}

// After a result is sent: libpcp_pmda's own clean-up. After a burst of
// big fetches JavaScript calls rest() (src/pmda/memory.ts), once it has
// collected its garbage: the freed value blocks go back to the system (a
// fetch of 100,000 values mallocs that many small blocks; without a trim
// the heap keeps them), and so do the pages of the fetch buffer past its
// first 64 KiB (a million values: 16 MiB, which the next fetch writes
// again before it reads them). Until then a reference keeps the buffer
// alive, so the pages given back are still its own.
pmdaResultCallBack freeResult = nullptr;
constexpr size_t kBufferKept = 64 * 1024;
Napi::Reference<Napi::ArrayBuffer> bigBuffer;
uint8_t *bigData = nullptr;
size_t bigLength = 0;

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

void resultSent(PduResult *result) {
  if (freeResult != nullptr) freeResult(result);
}

// rest() : malloc_trim, and the big fetch buffer's pages given back
Napi::Value Rest(const Napi::CallbackInfo &info) {
  malloc_trim(0);
  if (bigData != nullptr) pmdajson::releasePages(bigData, bigLength, kBufferKept);
  bigData = nullptr;
  bigLength = 0;
  bigBuffer.Reset();
  return info.Env().Undefined();
}

void onReadable(uv_poll_t *handle, int status, int events) {
  (void)events;
  Napi::Env env = jsFetch.Env();
  Napi::HandleScope scope(env);
  int sts = status;
  {
    // A callback scope runs queued microtasks and nextTicks when it closes.
    Napi::CallbackScope cbScope(env, pduContext);
    if (sts >= 0) sts = __pmdaMainPDU(&dispatch);
  }
  if (sts < 0) {
    uv_poll_stop(handle);
    uv_close((uv_handle_t *)handle, nullptr);
    started = false;
    if (!jsExit.IsEmpty()) callJs(jsExit, "exit", {Napi::Number::New(env, sts)});
  }
}

// ---- exported functions --------------------------------------------------

// init({ name, domain, logfile }) : pmdaDaemon + pmdaOpenLog
Napi::Value Init(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object o = info[0].As<Napi::Object>();
  static std::string name, logfile;
  name = o.Get("name").As<Napi::String>().Utf8Value();
  logfile = o.Get("logfile").As<Napi::String>().Utf8Value();
  domain = o.Get("domain").As<Napi::Number>().Int32Value();
  pmSetProgname(name.c_str());
  if (o.Has("debug") && o.Get("debug").IsString()) {
    std::string d = o.Get("debug").As<Napi::String>().Utf8Value();
    if (!d.empty() && pmSetDebug(d.c_str()) < 0)
      throw Napi::Error::New(env, "unrecognized debug options: " + d);
  }
  memset(&dispatch, 0, sizeof(dispatch));
  pmdaDaemon(&dispatch, PMDA_INTERFACE_7, name.c_str(), domain, logfile.c_str(), nullptr);
  if (dispatch.status != 0)
    throw Napi::Error::New(env, std::string("pmdaDaemon: ") + pmErrStr(dispatch.status));
  if (!(o.Has("openLog") && o.Get("openLog").ToBoolean() == false)) pmdaOpenLog(&dispatch);
  initialised = true;
  return env.Undefined();
}

// start({ fetch, refresh, text, exit }) : pmdaInit + pmdaConnect + libuv
Napi::Value Start(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!initialised) throw Napi::Error::New(env, "init() first");
  Napi::Object o = info[0].As<Napi::Object>();
  jsFetch = Napi::Persistent(o.Get("fetch").As<Napi::Function>());
  jsRefresh = Napi::Persistent(o.Get("refresh").As<Napi::Function>());
  jsText = Napi::Persistent(o.Get("text").As<Napi::Function>());
  jsExit = Napi::Persistent(o.Get("exit").As<Napi::Function>());
  jsLabels = Napi::Persistent(o.Get("labels").As<Napi::Function>());
  jsInstLabels = Napi::Persistent(o.Get("instanceLabels").As<Napi::Function>());
  jsStore = Napi::Persistent(o.Get("store").As<Napi::Function>());
  napi_async_init(env, nullptr, Napi::String::New(env, "pmda-json:pdu"), &pduContext);

  // libpcp_pmda's interface table, one callback a line (PDU type -> handler)
  dispatch.version.seven.fetch = fetchCallback;
  dispatch.version.seven.desc = descCallback;
  dispatch.version.seven.instance = instanceCallback;
  dispatch.version.seven.text = textCallback;
  dispatch.version.seven.pmid = pmidCallback;
  dispatch.version.seven.name = nameCallback;
  dispatch.version.seven.children = childrenCallback;
  dispatch.version.seven.label = labelCallback;
  dispatch.version.seven.store = storeCallback;
  pmdaSetLabelCallBack(&dispatch, instanceLabelCallback);
  pmdaSetFetchCallBack(&dispatch, fetchValue);
  pmdaSetCheckCallBack(&dispatch, checkCallback);
  pmdaInit(&dispatch, nullptr, 0, nullptr, 0);
  if (dispatch.status != 0)
    throw Napi::Error::New(env, std::string("pmdaInit: ") + pmErrStr(dispatch.status));
  pmdajson::attachIndoms(dispatch.version.any.ext);
  freeResult = dispatch.version.any.ext->e_resultCallBack;
  pmdaSetResultCallBack(&dispatch, resultSent);
  pmdaConnect(&dispatch);
  if (dispatch.status != 0)
    throw Napi::Error::New(env, std::string("pmdaConnect: ") + pmErrStr(dispatch.status));

  // In pipe mode fd 1 carries PDUs. Move the PDU stream to a private
  // descriptor and point fd 1 at the log, so a stray write to stdout can
  // never corrupt the protocol.
  pmdaExt *ext = dispatch.version.any.ext;
  if (ext->e_io == pmdaPipe && ext->e_outfd == STDOUT_FILENO) {
    int out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (out >= 0) {
      ext->e_outfd = out;
      dup2(STDERR_FILENO, STDOUT_FILENO);
    }
  }
  int infd = __pmdaInFd(&dispatch);
  if (infd < 0) throw Napi::Error::New(env, "__pmdaInFd failed");
  uv_loop_t *loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &pollHandle, infd);
  uv_poll_start(&pollHandle, UV_READABLE, onReadable);
  started = true;
  return env.Undefined();
}

// setDescs(Int32Array of records [pmid, type, indom, sem, dimSpace, dimTime,
// dimCount, scaleSpace, scaleTime, scaleCount])
Napi::Value SetDescs(const Napi::CallbackInfo &info) {
  Napi::Int32Array a = info[0].As<Napi::Int32Array>();
  descs.clear();
  for (size_t i = 0; i + 10 <= a.ElementLength(); i += 10) {
    pmDesc d;
    memset(&d, 0, sizeof(d));
    d.pmid = (pmID)(uint32_t)a[i];
    d.type = a[i + 1];
    d.indom = (pmInDom)(uint32_t)a[i + 2];
    d.sem = a[i + 3];
    d.units.dimSpace = a[i + 4];
    d.units.dimTime = a[i + 5];
    d.units.dimCount = a[i + 6];
    d.units.scaleSpace = a[i + 7];
    d.units.scaleTime = a[i + 8];
    d.units.scaleCount = a[i + 9];
    descs[d.pmid] = d;
  }
  return info.Env().Undefined();
}

// setNames(names: string[], pmids: Uint32Array): rebuild the dynamic PMNS
Napi::Value SetNames(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Array names = info[0].As<Napi::Array>();
  Napi::Uint32Array ids = info[1].As<Napi::Uint32Array>();
  auto tree = std::make_unique<pmdajson::NameTable>();
  int sts;
  for (uint32_t i = 0; i < names.Length() && i < ids.ElementLength(); i++) {
    std::string n = names.Get(i).As<Napi::String>().Utf8Value();
    if ((sts = tree->insert(n, (pmID)ids[i])) < 0)
      pmNotifyErr(LOG_WARNING, "cannot add metric name %s: %s", printable(n).c_str(), pmErrStr(sts));
  }
  pmns = std::move(tree);
  if (started) pmdaExtSetFlags(dispatch.version.any.ext, PMDA_EXT_NAMES_CHANGE);
  return env.Undefined();
}

// parseUnits(text) => [dimSpace, dimTime, dimCount, scaleSpace, scaleTime, scaleCount]
Napi::Value ParseUnits(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string text = info[0].As<Napi::String>().Utf8Value();
  pmUnits units;
  double mult = 1;
  char *err = nullptr;
  int sts = pmParseUnitsStr(text.c_str(), &units, &mult, &err);
  if (sts < 0) {
    std::string msg = err ? err : pmErrStr(sts);
    free(err);
    throw Napi::Error::New(env, msg);
  }
  Napi::Array out = Napi::Array::New(env, 6);
  out[0u] = units.dimSpace;
  out[1u] = units.dimTime;
  out[2u] = units.dimCount;
  out[3u] = units.scaleSpace;
  out[4u] = units.scaleTime;
  out[5u] = units.scaleCount;
  return out;
}

// log(level, message) through pmNotifyErr, into the PMDA log
Napi::Value Log(const Napi::CallbackInfo &info) {
  int level = info[0].As<Napi::Number>().Int32Value();
  std::string msg = info[1].As<Napi::String>().Utf8Value();
  pmNotifyErr(level, "%s", msg.c_str());
  return info.Env().Undefined();
}

Napi::Value ErrStr(const Napi::CallbackInfo &info) {
  return Napi::String::New(info.Env(), pmErrStr(info[0].As<Napi::Number>().Int32Value()));
}

// getConfig(name) => value of a PCP configuration variable ($PCP_*)
Napi::Value GetConfig(const Napi::CallbackInfo &info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  const char *v = pmGetOptionalConfig(name.c_str());
  if (v == nullptr) return info.Env().Null();
  return Napi::String::New(info.Env(), v);
}

// The module: this file's functions and constants, one a line (a
// registration table, the shape of the Register* functions of the other
// native/*.cc files), then theirs.
Napi::Object Module(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("start", Napi::Function::New(env, Start));
  exports.Set("rest", Napi::Function::New(env, Rest));
  exports.Set("setDescs", Napi::Function::New(env, SetDescs));
  exports.Set("setNames", Napi::Function::New(env, SetNames));
  exports.Set("parseUnits", Napi::Function::New(env, ParseUnits));
  exports.Set("log", Napi::Function::New(env, Log));
  exports.Set("errStr", Napi::Function::New(env, ErrStr));
  exports.Set("getConfig", Napi::Function::New(env, GetConfig));
  Napi::Object c = Napi::Object::New(env);
  c.Set("PMDA_CACHE_LOAD", PMDA_CACHE_LOAD);
  c.Set("PMDA_CACHE_SAVE", PMDA_CACHE_SAVE);
  c.Set("PMDA_CACHE_INACTIVE", PMDA_CACHE_INACTIVE);
  c.Set("PMDA_CACHE_ADD", PMDA_CACHE_ADD);
  c.Set("PMDA_CACHE_CULL", PMDA_CACHE_CULL);
  c.Set("PMDA_CACHE_REORG", PMDA_CACHE_REORG);
  c.Set("PMDA_CACHE_HIDE", PMDA_CACHE_HIDE);
  c.Set("PM_TYPE_64", PM_TYPE_64);
  c.Set("PM_TYPE_DOUBLE", PM_TYPE_DOUBLE);
  c.Set("PM_TYPE_STRING", PM_TYPE_STRING);
  c.Set("PM_SEM_COUNTER", PM_SEM_COUNTER);
  c.Set("PM_SEM_INSTANT", PM_SEM_INSTANT);
  c.Set("PM_SEM_DISCRETE", PM_SEM_DISCRETE);
  c.Set("PM_INDOM_NULL", (double)PM_INDOM_NULL);
  c.Set("PM_IN_NULL", PM_IN_NULL);
  c.Set("PM_ERR_AGAIN", PM_ERR_AGAIN);
  c.Set("PM_ERR_VALUE", PM_ERR_VALUE);
  c.Set("PM_ERR_PMID", PM_ERR_PMID);
  c.Set("PM_LABEL_CLUSTER", PM_LABEL_CLUSTER);
  c.Set("PM_LABEL_ITEM", PM_LABEL_ITEM);
  c.Set("PM_ERR_PERMISSION", PM_ERR_PERMISSION);
  c.Set("PM_ERR_INST", PM_ERR_INST);
  c.Set("PM_TEXT_ONELINE", PM_TEXT_ONELINE);
  c.Set("PM_TEXT_INDOM", PM_TEXT_INDOM);
  c.Set("LOG_ERR", LOG_ERR);
  c.Set("LOG_WARNING", LOG_WARNING);
  c.Set("LOG_INFO", LOG_INFO);
  c.Set("LOG_DEBUG", LOG_DEBUG);
  exports.Set("constants", c);
  pmdajson::RegisterCache(env, exports);
  pmdajson::RegisterWatch(env, exports);
  pmdajson::RegisterExec(env, exports);
  pmdajson::RegisterAccess(env, exports);
  pmdajson::RegisterQuery(env, exports);
  pmdajson::RegisterGather(env, exports);
  pmdajson::RegisterMemory(env, exports);
  pmdajson::RegisterIndoms(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(pmda_json, Module)
