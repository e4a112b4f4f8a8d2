// What the PDU loop (native/pmda_json.cc) shares with the files of the
// callbacks it dispatches to: the result type of a fetch and a store, and
// calling into JavaScript from inside a PDU.
#pragma once
#include <napi.h>

extern "C" {
#include <pcp/pmapi.h>
#include <pcp/pmda.h>
}

#include <initializer_list>
#include <type_traits>

namespace pmdajson {

// The result a PMDA callback fills: pmResult up to PCP 6, pmdaResult
// (pmResult_v2) from PCP 7 on. Taken from the type libpcp_pmda's own
// result callback takes, so one source builds against either.
template <typename F> struct FirstArg;
template <typename R, typename A> struct FirstArg<R (*)(A)> { using type = A; };
using PduResult = std::remove_pointer_t<FirstArg<pmdaResultCallBack>::type>;

// Call into JavaScript from a libpcp_pmda callback. We are always inside
// onReadable's callback scope, so a plain Call is right.
Napi::Value callJs(Napi::FunctionReference &fn, const char *where,
                   const std::initializer_list<napi_value> &args);

}  // namespace pmdajson
