// Directory change notification (inotify), read synchronously.
#pragma once
#include <napi.h>

namespace pmdajson {
void RegisterWatch(Napi::Env env, Napi::Object exports);
// Open the inotify queue, if it is not open: its descriptor, or -errno.
int openWatchQueue();
// Watch a source directory (the events discovery reads) in the open
// queue: its watch descriptor, or -errno. Safe on another thread
// (native/warmlook.cc) once the queue is open.
int watchDirectory(const char *dir);
}
