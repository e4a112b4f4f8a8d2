// The PMDA log: log() and errStr() for TypeScript, through pmNotifyErr
// and pmErrStr; and the escaping of the few lines the shim writes itself.
#include "log.h"

extern "C" {
#include <pcp/pmapi.h>
#include <pcp/pmda.h>
}

#include <cstdint>
#include <cstdio>

namespace pmdajson {

// The log's escaping rule (escape() in src/pmda/limits/log.ts), for the few lines
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

namespace {

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

}  // namespace

// What this file adds to the module, one name a line.
void RegisterLog(Napi::Env env, Napi::Object exports) {
  exports.Set("log", Napi::Function::New(env, Log));
  exports.Set("errStr", Napi::Function::New(env, ErrStr));
}

}  // namespace pmdajson
