// A warm start's look at what the last run kept (src/pmda/sources/warmstart.ts),
// on a thread of its own: begun as soon as the kept file is read, while
// the main thread loads the agent's modules and builds its tables
// (src/pmda/main.ts), and taken when the agent starts. Each kept
// directory is watched first, then every kept path is stamped, so that
// whatever changes after the look is an event. Nothing here decides
// anything: JavaScript compares the stamps with what was kept.
#include "warmlook.h"
#include "access.h"
#include "watch.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cerrno>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace pmdajson {
namespace {

// Paths are stamped a chunk at a time, by the look's thread and, once
// JavaScript asks for the look (warmEnd), by the main thread too.
constexpr size_t CHUNK = 256;

struct Look {
  std::vector<std::string> dirs;
  std::vector<std::string> paths;
  bool watch = false;
  std::vector<int> wds;
  std::vector<double> stamps;
  std::thread thread;
  // the next path to stamp; no path is stamped before every directory is watched
  std::atomic<size_t> next{0};
  std::mutex lock;
  std::condition_variable watchedAll;
  bool watched = false;
  // something threw (memory ran out): the look says nothing, the start is cold
  std::atomic<bool> failed{false};

  // the look's thread: the paths from the kept strings, the watches, then stamps
  void run(const std::string &dirsJoined, const std::string &sourceDirs, const std::string &describedBy, const std::string &others) {
    try {
      dirs = split(dirsJoined);
      paths = dirs;
      for (auto &p : split(sourceDirs, &describedBy)) paths.push_back(std::move(p));
      for (auto &p : split(others)) paths.push_back(std::move(p));
      wds.resize(dirs.size());
      stamps.assign(paths.size() * STAT_FIELDS_COUNT, 0);
      for (size_t i = 0; i < dirs.size(); i++) wds[i] = watch ? watchDirectory(dirs[i].c_str()) : -ENOSPC;
    } catch (...) {
      failed = true;
    }
    {
      std::lock_guard<std::mutex> hold(lock);
      watched = true;
    }
    watchedAll.notify_all();
    stampSome();
  }

  void stampSome() {
    try {
      for (size_t from; !failed && (from = next.fetch_add(CHUNK)) < paths.size();) stampPaths(paths.data() + from, std::min(CHUNK, paths.size() - from), stamps.data() + from * STAT_FIELDS_COUNT, false);
    } catch (...) {
      failed = true;
    }
  }

  // the main thread: wait for the watches, help with the stamps, then for the thread
  void finish() {
    {
      std::unique_lock<std::mutex> hold(lock);
      watchedAll.wait(hold, [this] { return watched; });
    }
    stampSome();
    thread.join();
  }

  // a look begun and never taken (a start that failed first) ends before the process does
  ~Look() {
    if (thread.joinable()) thread.join();
  }

  // the parts of `joined` between NUL characters (with names: each part,
  // '/', and the part of the same rank of `names`); none for ""
  static std::vector<std::string> split(const std::string &joined, const std::string *names = nullptr);
};

std::unique_ptr<Look> look;

std::vector<std::string> Look::split(const std::string &joined, const std::string *names) {
  std::vector<std::string> out;
  if (joined.empty()) return out;
  size_t from = 0, nameFrom = 0;
  for (;;) {
    size_t end = joined.find('\0', from);
    std::string part = joined.substr(from, end == std::string::npos ? std::string::npos : end - from);
    if (names) {
      size_t nameEnd = names->find('\0', nameFrom);
      part += '/';
      part += names->substr(nameFrom, nameEnd == std::string::npos ? std::string::npos : nameEnd - nameFrom);
      nameFrom = nameEnd == std::string::npos ? names->size() : nameEnd + 1;
    }
    out.push_back(std::move(part));
    if (end == std::string::npos) return out;
    from = end + 1;
  }
}

// warmBegin(dirs, sourceDirs, describedBy, others, watch): each string the
// paths joined by NUL. Watch each of `dirs` (unless !watch), then stamp
// `dirs`, each source's metadata file (sourceDirs[i]/describedBy[i]) and
// `others`, in that order. A look begun before is ended first.
Napi::Value WarmBegin(const Napi::CallbackInfo &info) {
  look.reset();
  auto l = std::make_unique<Look>();
  // the strings are split on the look's thread: here they are only copied
  std::string dirs = info[0].As<Napi::String>().Utf8Value();
  std::string sourceDirs = info[1].As<Napi::String>().Utf8Value();
  std::string describedBy = info[2].As<Napi::String>().Utf8Value();
  std::string others = info[3].As<Napi::String>().Utf8Value();
  // the queue is opened here, not on the look's thread: the agent opens it too (watchInit)
  l->watch = info[4].ToBoolean().Value() && openWatchQueue() >= 0;
  Look *self = l.get();
  try {
    l->thread = std::thread([self, dirs = std::move(dirs), sourceDirs = std::move(sourceDirs), describedBy = std::move(describedBy), others = std::move(others)] { self->run(dirs, sourceDirs, describedBy, others); });
  } catch (const std::exception &e) {
    throw Napi::Error::New(info.Env(), std::string("warmBegin: ") + e.what());
  }
  look = std::move(l);
  return info.Env().Undefined();
}

// warmEnd() => [Int32Array wds, Float64Array stamps], once the look is
// over (an error if it failed); undefined if none was begun.
Napi::Value WarmEnd(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!look) return env.Undefined();
  look->finish();
  if (look->failed) {
    look.reset();
    throw Napi::Error::New(env, "warmEnd: the look failed");
  }
  Napi::Int32Array wds = Napi::Int32Array::New(env, look->wds.size());
  for (size_t i = 0; i < look->wds.size(); i++) wds[i] = look->wds[i];
  Napi::Float64Array stamps = Napi::Float64Array::New(env, look->stamps.size());
  std::copy(look->stamps.begin(), look->stamps.end(), stamps.Data());
  look.reset();
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, wds);
  out.Set(1u, stamps);
  return out;
}

}  // namespace

void RegisterWarmLook(Napi::Env env, Napi::Object exports) {
  exports.Set("warmBegin", Napi::Function::New(env, WarmBegin));
  exports.Set("warmEnd", Napi::Function::New(env, WarmEnd));
}

}  // namespace pmdajson
