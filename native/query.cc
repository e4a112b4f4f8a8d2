// JSON queries, compiled: the JSON pointers a source's metrics read from
// its data documents, found without building a JavaScript object for
// anything in a document.
//
// JavaScript compiles a query once per source (src/pmda/data/query.ts): the
// pointers of its scalar metrics, and per array (or object map) the
// pointer to it, the pointer to each element's instance name and the
// pointers of its members and instance labels. This file makes of them
// one tree of their tokens (native/query.h), with the slot each pointer
// writes: in the order the query lists them, the scalars from slot 1,
// then one header slot per array; in an element's row, its key (object
// maps) at slot 0, its instance name at slot 1, its members from slot 2.
// native/queryrun.cc runs the tree on a document. What a value means to
// PCP (its conversion, its instance, its record) is decided in
// JavaScript; the query knows only JSON and pointers.
#include "query.h"

namespace pmdajson {

std::vector<std::unique_ptr<Query>> queries;

namespace {

Token toToken(std::string key) {
  Token t;
  t.key = std::move(key);
  t.head = headOf(t.key);
  t.isIndex = !t.key.empty() && t.key.size() < 16 && (t.key == "0" || t.key[0] != '0');
  for (char c : t.key) t.isIndex = t.isIndex && c >= '0' && c <= '9';
  t.index = t.isIndex ? std::stoull(t.key) : 0;
  return t;
}

// The node of `tokens` below `n`, made if need be.
Node &nodeOf(Node &n, const Napi::Array &tokens) {
  Node *at = &n;
  for (uint32_t i = 0; i < tokens.Length(); i++) {
    std::string key = tokens.Get(i).As<Napi::String>().Utf8Value();
    Node *next = nullptr;
    for (auto &c : at->children) {
      if (c->token.key == key) next = c.get();
    }
    if (!next) {
      at->children.push_back(std::make_unique<Node>());
      next = at->children.back().get();
      next->token = toToken(std::move(key));
      at->anyIndex = at->anyIndex || next->token.isIndex;
    }
    at = next;
  }
  return *at;
}

// Index the children of nodes that have many; and, the tree being
// complete, let its lists hold no more room than they use.
void index(Node &n) {
  if (n.children.size() > FEW) {
    n.byKey = std::make_unique<std::unordered_map<std::string_view, size_t>>();
    for (size_t i = 0; i < n.children.size(); i++) n.byKey->emplace(n.children[i]->token.key, i);
  }
  n.slots.shrink_to_fit();
  n.nameSlots.shrink_to_fit();
  n.arrays.shrink_to_fit();
  n.children.shrink_to_fit();
  for (auto &c : n.children) index(*c);
}

// queryCompile({ scalars: string[][], arrays: [{ at, index | null, members }] }) => id
Napi::Value QueryCompile(const Napi::CallbackInfo &info) {
  Napi::Object spec = info[0].As<Napi::Object>();
  auto q = std::make_unique<Query>();
  Napi::Array scalars = spec.Get("scalars").As<Napi::Array>();
  q->scalars = scalars.Length();
  for (uint32_t i = 0; i < scalars.Length(); i++) nodeOf(q->root, scalars.Get(i).As<Napi::Array>()).slots.push_back(1 + i);
  Napi::Array arrays = spec.Get("arrays").As<Napi::Array>();
  q->arrays.resize(arrays.Length());
  for (uint32_t i = 0; i < arrays.Length(); i++) {
    Napi::Object a = arrays.Get(i).As<Napi::Object>();
    ArrayQuery &aq = q->arrays[i];
    Node &at = nodeOf(q->root, a.Get("at").As<Napi::Array>());
    at.slots.push_back(1 + q->scalars + i);
    at.arrays.push_back(i);
    Napi::Value index = a.Get("index");
    if (index.IsArray()) nodeOf(aq.row, index.As<Napi::Array>()).nameSlots.push_back(1);
    Napi::Array members = a.Get("members").As<Napi::Array>();
    for (uint32_t m = 0; m < members.Length(); m++) nodeOf(aq.row, members.Get(m).As<Napi::Array>()).slots.push_back(2 + m);
    aq.width = 2 + members.Length();
  }
  index(q->root);
  for (ArrayQuery &aq : q->arrays) {
    index(aq.row);
    aq.flat = aq.row.slots.empty() && aq.row.nameSlots.empty() && aq.row.children.size() <= FEW;
    for (auto &c : aq.row.children) aq.flat = aq.flat && c->children.empty() && c->arrays.empty();
  }
  for (size_t id = 0; id < queries.size(); id++) {
    if (!queries[id]) {
      queries[id] = std::move(q);
      return Napi::Number::New(info.Env(), static_cast<double>(id));
    }
  }
  queries.push_back(std::move(q));
  return Napi::Number::New(info.Env(), static_cast<double>(queries.size() - 1));
}

Napi::Value QueryFree(const Napi::CallbackInfo &info) {
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id < queries.size()) queries[id].reset();
  return info.Env().Undefined();
}

}  // namespace

void RegisterQuery(Napi::Env env, Napi::Object exports) {
  exports.Set("queryCompile", Napi::Function::New(env, QueryCompile));
  exports.Set("queryFree", Napi::Function::New(env, QueryFree));
}

}  // namespace pmdajson
