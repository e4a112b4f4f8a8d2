// Instance domains as tables (pmdaIndom), not pmdaCache indoms.
//
// pmdaFetch and pmdaInstance read an instance domain from pmdaCache if
// one exists for it, else from the PMDA's table of pmdaIndom. pmdaCache
// finds its cache of an indom along a list of all its caches, at every
// step of a walk of the instances: with 100 sources of 1,000 instances,
// most of a fetch's time (docs/BENCHMARKS.md). The sources' instances
// are therefore tables: JavaScript numbers the names (the numbers kept in
// pmdaCache's files, src/pmda/numbering/cachefile.ts) and gives this file the
// active ones, in instance order; a table holds their numbers and one
// buffer of their names. A table changes only between PDUs (JavaScript
// runs before pmdaFetch or pmdaInstance reads it), and so does its entry
// in the array of tables that libpcp_pmda reads.
#include "indoms.h"

#include "cache.h"

#include <map>
#include <string>
#include <vector>

namespace pmdajson {
namespace {

struct Table {
  std::vector<pmdaInstid> set;
  std::string names;
  // its place in `published`
  size_t at;
};

std::map<pmInDom, Table> tables;
std::vector<pmdaIndom> published;
pmdaExt *attached = nullptr;

// libpcp_pmda's view of table `t` made new: its entry, and the array's
// place (which moves when a table is added)
void publish(Table &t) {
  published[t.at] = pmdaIndom{published[t.at].it_indom, static_cast<int>(t.set.size()), t.set.data()};
  if (attached == nullptr) return;
  attached->e_indoms = published.data();
  attached->e_nindoms = static_cast<int>(published.size());
}

// indomSet(serial, insts: Int32Array, names: string[]): the active
// instances of the indom, in instance order
Napi::Value IndomSet(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  pmInDom indom = pmInDom_build(domain, info[0].As<Napi::Number>().Uint32Value());
  Napi::Int32Array insts = info[1].As<Napi::Int32Array>();
  Napi::Array names = info[2].As<Napi::Array>();
  if (names.Length() != insts.ElementLength()) throw Napi::RangeError::New(env, "indomSet: as many names as instances");
  // built where it stays (a map's entries do not move): the instances
  // point into its names
  auto [it, added] = tables.try_emplace(indom);
  Table &t = it->second;
  if (added) {
    t.at = published.size();
    published.push_back(pmdaIndom{indom, 0, nullptr});
  }
  t.set.clear();
  t.names.clear();
  std::vector<size_t> at(insts.ElementLength());
  for (uint32_t i = 0; i < names.Length(); i++) {
    at[i] = t.names.size();
    t.names += names.Get(i).As<Napi::String>().Utf8Value();
    t.names.push_back('\0');
  }
  t.names.shrink_to_fit();
  t.set.resize(insts.ElementLength());
  t.set.shrink_to_fit();
  for (size_t i = 0; i < t.set.size(); i++) t.set[i] = pmdaInstid{insts[i], t.names.data() + at[i]};
  publish(t);
  return env.Undefined();
}

}  // namespace

void attachIndoms(pmdaExt *ext) {
  attached = ext;
  attached->e_indoms = published.empty() ? nullptr : published.data();
  attached->e_nindoms = static_cast<int>(published.size());
}

void RegisterIndoms(Napi::Env env, Napi::Object exports) {
  exports.Set("indomSet", Napi::Function::New(env, IndomSet));
}

}  // namespace pmdajson
