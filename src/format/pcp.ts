// The few numbers of PCP's ABI that format/ needs, so that parsing and
// producing metadata never loads the native module (or libpcp). They are
// fixed by PCP's pmapi.h (/usr/include/pcp/pmapi.h, PCP 6.0.3: lines
// 140-146 and 154-157) and have not changed since PCP 1.0; the native
// module's `constants` carry the same values for the PMDA itself. Below
// them, the words pminfo shows for semantics and units.
import type { Units } from './metadata';

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

/** Semantics as pminfo shows them. */
export function semName(sem: number): string {
  return sem === PM_SEM_COUNTER ? 'counter' : sem === PM_SEM_DISCRETE ? 'discrete' : 'instant';
}

const SPACE = ['byte', 'Kbyte', 'Mbyte', 'Gbyte', 'Tbyte', 'Pbyte', 'Ebyte', 'Zbyte', 'Ybyte'];
const TIME = ['nanosec', 'microsec', 'millisec', 'sec', 'min', 'hour'];

/** Units as pminfo shows them (pmUnitsStr's form): "Kbyte / sec", "count", "none". */
export function unitsText(u: Units): string {
  const [dSpace, dTime, dCount, sSpace, sTime, sCount] = u;
  const parts: Array<[string, number]> = [];
  if (dSpace !== 0) parts.push([SPACE[sSpace] ?? `space(${sSpace})`, dSpace]);
  if (dTime !== 0) parts.push([TIME[sTime] ?? `time(${sTime})`, dTime]);
  if (dCount !== 0) parts.push([sCount === 0 ? 'count' : `count x 10^${sCount}`, dCount]);
  if (parts.length === 0) return 'none';
  const term = ([n, d]: [string, number]): string => (Math.abs(d) === 1 ? n : `${n}^${Math.abs(d)}`);
  const up = parts.filter((p) => p[1] > 0).map(term);
  const down = parts.filter((p) => p[1] < 0).map(term);
  if (down.length === 0) return up.join(' ');
  return `${up.length > 0 ? up.join(' ') : '1'} / ${down.join(' ')}`;
}
