// What PCP defines, for TypeScript: the constants of pmapi.h and pmda.h
// (and the log's levels) that src/pmda/native.ts names, a table one a
// line; parseUnits() (pmParseUnitsStr) and getConfig()
// (pmGetOptionalConfig).
#include "constants.h"

extern "C" {
#include <pcp/pmapi.h>
#include <pcp/pmda.h>
}

#include <cstdlib>
#include <string>

namespace pmdajson {
namespace {

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

// getConfig(name) => value of a PCP configuration variable ($PCP_*)
Napi::Value GetConfig(const Napi::CallbackInfo &info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  const char *v = pmGetOptionalConfig(name.c_str());
  if (v == nullptr) return info.Env().Null();
  return Napi::String::New(info.Env(), v);
}

}  // namespace

// What this file adds to the module, one name a line.
void RegisterConstants(Napi::Env env, Napi::Object exports) {
  exports.Set("parseUnits", Napi::Function::New(env, ParseUnits));
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
}

}  // namespace pmdajson
