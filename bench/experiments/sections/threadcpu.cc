// now() => the calling thread's CPU time in ms (CLOCK_THREAD_CPUTIME_ID):
// for bench/experiments/sections, which times parts of a live PMDA's main
// thread (a clock of the process would count V8's helper threads too).
#include <node_api.h>
#include <time.h>

static napi_value Now(napi_env env, napi_callback_info) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  napi_value v;
  napi_create_double(env, ts.tv_sec * 1e3 + ts.tv_nsec / 1e6, &v);
  return v;
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "now", NAPI_AUTO_LENGTH, Now, nullptr, &f);
  return f;
}
