// Store: the store PDU's callback; what a store means JavaScript decides.
#pragma once
#include <napi.h>

#include "pmda_json.h"

namespace pmdajson {
// Take the store function of start()'s object.
void bindStore(const Napi::Object &callbacks);
int storeCallback(PduResult *result, pmdaExt *);
}
