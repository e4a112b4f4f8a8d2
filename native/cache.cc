// pmdaCache for TypeScript: src/pmda/numbering/numbering.ts keeps the cluster cache
// (the sources' names -> clusters, also the indom of the control metrics)
// in a pmdaCache indom, so its file under $PCP_VAR_DIR/config/pmda is
// libpcp_pmda's own (the sources' metric and instance caches are files of
// the same format, src/pmda/numbering/cachefile.ts); and identifiers are built with
// PCP's own macros.
#include "cache.h"

#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include <pcp/pmapi.h>
#include <pcp/pmda.h>
}

namespace pmdajson {
namespace {

pmInDom indomOf(const Napi::CallbackInfo &info) {
  return pmInDom_build(domain, info[0].As<Napi::Number>().Uint32Value());
}

// cacheOp(serial, op) for PMDA_CACHE_LOAD, SAVE, INACTIVE, ACTIVE, SIZE*
Napi::Value CacheOp(const Napi::CallbackInfo &info) {
  int op = info[1].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), pmdaCacheOp(indomOf(info), op));
}

Napi::Value CacheResize(const Napi::CallbackInfo &info) {
  int max = info[1].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), pmdaCacheResize(indomOf(info), max));
}

// cacheStore(serial, flags, name) => inst or negative error
Napi::Value CacheStore(const Napi::CallbackInfo &info) {
  int flags = info[1].As<Napi::Number>().Int32Value();
  std::string name = info[2].As<Napi::String>().Utf8Value();
  return Napi::Number::New(info.Env(), pmdaCacheStore(indomOf(info), flags, name.c_str(), nullptr));
}

// cacheEntries(serial) => [insts, names]: every stored entry, active or
// not, in instance order: their instance ids, and their names joined by
// NUL (which no name holds) -- two values, not two per entry, because a
// start numbering thousands of sources waited for each one made
Napi::Value CacheEntries(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  pmInDom indom = indomOf(info);
  std::vector<int32_t> insts;
  std::string names;
  if (pmdaCacheOp(indom, PMDA_CACHE_WALK_REWIND) >= 0) {
    // WALK_NEXT visits active entries only; probe the whole id range that
    // SIZE reports to include inactive ones, in instance order.
    int size = pmdaCacheOp(indom, PMDA_CACHE_SIZE);
    for (int inst = 0, seen = 0; seen < size && inst >= 0; inst++) {
      char *name = nullptr;
      int sts = pmdaCacheLookup(indom, inst, &name, nullptr);
      if (sts == PMDA_CACHE_ACTIVE || sts == PMDA_CACHE_INACTIVE) {
        if (!insts.empty()) names.push_back('\0');
        insts.push_back(inst);
        names.append(name);
        seen++;
      } else if (sts == PMDA_CACHE_EMPTY) {
        seen++;
      }
      if (inst > size * 4 + 1024 && seen == 0) break;
    }
  }
  Napi::Int32Array ids = Napi::Int32Array::New(env, insts.size());
  if (!insts.empty()) std::memcpy(ids.Data(), insts.data(), insts.size() * sizeof(int32_t));
  Napi::Array out = Napi::Array::New(env, 2);
  out[0u] = ids;
  out[1u] = Napi::String::New(env, names);
  return out;
}

Napi::Value InDom(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), indomOf(info));
}

Napi::Value Pmid(const Napi::CallbackInfo &info) {
  unsigned cluster = info[0].As<Napi::Number>().Uint32Value();
  unsigned item = info[1].As<Napi::Number>().Uint32Value();
  return Napi::Number::New(info.Env(), pmID_build(domain, cluster, item));
}

// setDomain(n): numbering outside a running PMDA (tools, tests)
Napi::Value SetDomain(const Napi::CallbackInfo &info) {
  domain = info[0].As<Napi::Number>().Int32Value();
  return info.Env().Undefined();
}

}  // namespace

// What this file adds to the module, one name a line (the same shape in
// each native/*.cc: a registration table, not repeated logic).
void RegisterCache(Napi::Env env, Napi::Object exports) {
  exports.Set("cacheOp", Napi::Function::New(env, CacheOp));
  exports.Set("cacheResize", Napi::Function::New(env, CacheResize));
  exports.Set("cacheStore", Napi::Function::New(env, CacheStore));
  exports.Set("cacheEntries", Napi::Function::New(env, CacheEntries));
  exports.Set("indom", Napi::Function::New(env, InDom));
  exports.Set("pmid", Napi::Function::New(env, Pmid));
  exports.Set("setDomain", Napi::Function::New(env, SetDomain));
}

}  // namespace pmdajson
