// The few numbers of PCP's ABI that format/ needs, so that parsing and
// producing metadata never loads the native module (or libpcp). They are
// fixed by PCP's pmapi.h (/usr/include/pcp/pmapi.h, PCP 6.0.3: lines
// 140-146 and 154-157) and have not changed since PCP 1.0; the native
// module's `constants` carry the same values for the PMDA itself.

// A table of constants, one a line, as pmapi.h has them.
/** pmDesc.type: PM_TYPE_* */
export const PM_TYPE_32 = 0;
export const PM_TYPE_U32 = 1;
export const PM_TYPE_64 = 2;
export const PM_TYPE_U64 = 3;
export const PM_TYPE_FLOAT = 4;
export const PM_TYPE_DOUBLE = 5;
export const PM_TYPE_STRING = 6;

/** pmDesc.sem: PM_SEM_* */
export const PM_SEM_COUNTER = 1;
export const PM_SEM_INSTANT = 3;
export const PM_SEM_DISCRETE = 4;
