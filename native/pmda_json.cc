// The PDU loop and the module table of the native shim.
//
// libpcp_pmda does the protocol: option handling (pmdaDaemon), the log
// (pmdaOpenLog), decoding and encoding PDUs (__pmdaMainPDU), assembling
// results and honouring profiles (pmdaFetch), instance requests
// (pmdaInstance) and labels (pmdaLabel). This file
//   - starts it: init() (pmdaDaemon, pmdaOpenLog) and start() (the
//     interface table of callbacks, one a line, pmdaInit, pmdaConnect),
//   - drives __pmdaMainPDU from libuv whenever the pmcd pipe is readable,
//     inside one callback scope per PDU, and calls JavaScript back through
//     callJs (native/pmda_json.h),
//   - answers the PDUs that need no file of their own: refresh before an
//     instance or namespace PDU, help text, and the namespace (setNames,
//     over native/names.h),
//   - builds the module: its own functions, then each file's Register*.
// The other callbacks are the files of their concepts: descs.cc,
// fetch.cc, labels.cc, store.cc. There is no metric logic here.

#include <napi.h>
#include "access.h"
#include "warmlook.h"
#include "exec.h"
#include "cache.h"
#include "watch.h"
#include "query.h"
#include "queryrun.h"
#include "gather.h"
#include "memory.h"
#include "names.h"
#include "indoms.h"
#include "pmda_json.h"
#include "log.h"
#include "constants.h"
#include "descs.h"
#include "fetch.h"
#include "labels.h"
#include "store.h"
#include <uv.h>

extern "C" {
#include <pcp/pmapi.h>
#include <pcp/pmda.h>
}

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <unistd.h>
#include <cstdint>

namespace pmdajson {
// the PMDA's domain (native/cache.h), set by init()
int domain = 0;
}
using namespace pmdajson;

namespace {

pmdaInterface dispatch;
bool initialised = false;
bool started = false;

Napi::FunctionReference jsRefresh;    // (indom) => void, once per namespace/instance PDU
Napi::FunctionReference jsText;       // (ident, type) => string | null
Napi::FunctionReference jsExit;       // (status) => void

uv_poll_t pollHandle;
// one async context for every PDU: creating one per PDU costs an
// async_hooks init each time
napi_async_context pduContext = nullptr;

// ---- namespace ---------------------------------------------------------
std::unique_ptr<pmdajson::NameTable> pmns;

// the help text last answered, which libpcp_pmda sends after the callback
std::string textBuffer;
}  // namespace

Napi::Value pmdajson::callJs(Napi::FunctionReference &fn, const char *where,
                   const std::initializer_list<napi_value> &args) {
  Napi::Env env = fn.Env();
  try {
    return fn.Call(args);
  } catch (const Napi::Error &e) {
    logPendingException(env, where, e);
    return env.Undefined();
  }
}

namespace {

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

// After a result is sent: libpcp_pmda's own clean-up (the result callback
// pmdaInit set), called through this hook.
pmdaResultCallBack freeResult = nullptr;

void resultSent(PduResult *result) {
  fetchSent(result);
  if (freeResult != nullptr) freeResult(result);
}

void onReadable(uv_poll_t *handle, int status, int events) {
  (void)events;
  Napi::Env env = jsExit.Env();
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

// init({ name, domain, logfile }) : pmdaDaemon + pmdaOpenLog (an N-API
// function's shape, as start and setNames have it)
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

// start({ fetch, refresh, text, exit, labels, instanceLabels, store }) :
// pmdaInit + pmdaConnect + libuv (it opens and ends as init and setNames
// do: N-API's shape, not logic written twice)
Napi::Value Start(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!initialised) throw Napi::Error::New(env, "init() first");
  Napi::Object o = info[0].As<Napi::Object>();
  bindFetch(o);
  jsRefresh = Napi::Persistent(o.Get("refresh").As<Napi::Function>());
  jsText = Napi::Persistent(o.Get("text").As<Napi::Function>());
  jsExit = Napi::Persistent(o.Get("exit").As<Napi::Function>());
  bindLabels(o);
  bindStore(o);
  napi_async_init(env, nullptr, Napi::String::New(env, "pmda-json:pdu"), &pduContext);

  // libpcp_pmda's interface table, one callback a line (PDU type -> handler);
  // bench/cpmda.c, the C floor, fills the same table its own way: it
  // shares no code with what it measures, on purpose
  dispatch.version.seven.fetch = fetchCallback;
  dispatch.version.seven.desc = fetchDesc;
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

// setNames(names: string[] | string, pmids: Uint32Array): rebuild the
// dynamic PMNS; `names` may be one string, the names joined by NUL (a
// warm start's, src/pmda/sources/warmstart.ts). (It opens as init and
// start do, and every N-API function here: that shape is N-API's, not
// logic written twice.)
Napi::Value SetNames(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Uint32Array ids = info[1].As<Napi::Uint32Array>();
  size_t count = ids.ElementLength();
  // the names in one string the table keeps, and where each one is in it
  std::string all;
  std::vector<std::pair<size_t, size_t>> spans;
  if (info[0].IsString()) {
    all = info[0].As<Napi::String>().Utf8Value();
    for (size_t from = 0; spans.size() < count && from <= all.size();) {
      size_t end = all.find('\0', from);
      if (end == std::string::npos) end = all.size();
      spans.emplace_back(from, end - from);
      from = end + 1;
    }
  } else {
    Napi::Array names = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < names.Length() && i < count; i++) {
      if (i > 0) all.push_back('\0');
      std::string n = names.Get(i).As<Napi::String>().Utf8Value();
      spans.emplace_back(all.size(), n.size());
      all += n;
    }
  }
  auto tree = std::make_unique<pmdajson::NameTable>(std::move(all));
  tree->reserve(spans.size());
  std::string_view joined(tree->joined());
  for (size_t i = 0; i < spans.size(); i++) {
    std::string_view n = joined.substr(spans[i].first, spans[i].second);
    int sts = tree->insert(n, (pmID)ids[i]);
    if (sts < 0) pmNotifyErr(LOG_WARNING, "cannot add metric name %s: %s", printable(std::string(n)).c_str(), pmErrStr(sts));
  }
  pmns = std::move(tree);
  if (started) pmdaExtSetFlags(dispatch.version.any.ext, PMDA_EXT_NAMES_CHANGE);
  return env.Undefined();
}

// The module: this file's functions, one a line, then those of the other
// native/*.cc files (each a registration table of the same shape).
// Constants come before watch.cc, which adds its own to them.
Napi::Object Module(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("start", Napi::Function::New(env, Start));
  exports.Set("setNames", Napi::Function::New(env, SetNames));
  pmdajson::RegisterDescs(env, exports);
  pmdajson::RegisterLog(env, exports);
  pmdajson::RegisterConstants(env, exports);
  pmdajson::RegisterCache(env, exports);
  pmdajson::RegisterWatch(env, exports);
  pmdajson::RegisterExec(env, exports);
  pmdajson::RegisterAccess(env, exports);
  pmdajson::RegisterWarmLook(env, exports);
  pmdajson::RegisterQuery(env, exports);
  pmdajson::RegisterQueryRun(env, exports);
  pmdajson::RegisterGather(env, exports);
  pmdajson::RegisterMemory(env, exports);
  pmdajson::RegisterIndoms(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(pmda_json, Module)
