// Labels: the label and instance label callbacks, whose JSON text
// JavaScript supplies; libpcp_pmda's pmdaLabel does the rest.
#pragma once
#include <napi.h>

extern "C" {
#include <pcp/pmapi.h>
#include <pcp/pmda.h>
}

namespace pmdajson {
// Take the labels and instanceLabels functions of start()'s object.
void bindLabels(const Napi::Object &callbacks);
int labelCallback(int ident, int type, pmLabelSet **lpp, pmdaExt *pmda);
int instanceLabelCallback(pmInDom indom, unsigned int inst, pmLabelSet **lp);
}
