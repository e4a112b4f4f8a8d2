// Labels: the label PDU's callbacks, calling JavaScript for the JSON text
// of this PMDA's label sets and handing it to pmdaAddLabels.
#include "labels.h"
#include "pmda_json.h"

#include <string>

namespace pmdajson {
namespace {

Napi::FunctionReference jsLabels;     // (type, ident) => JSON object text | null
Napi::FunctionReference jsInstLabels; // (indom, inst) => JSON object text | null

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

}  // namespace

void bindLabels(const Napi::Object &o) {
  jsLabels = Napi::Persistent(o.Get("labels").As<Napi::Function>());
  jsInstLabels = Napi::Persistent(o.Get("instanceLabels").As<Napi::Function>());
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

}  // namespace pmdajson
