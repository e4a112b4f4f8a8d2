// Units text (metadata.json's "units": "Kbyte / sec") parsed as libpcp's
// pmParseUnitsStr does, by the parser the native module gives
// (src/pmda/native.ts), each text once.
import type { Units } from './metadata';

/** A parser of units text, as libpcp's pmParseUnitsStr. */
export type UnitsParser = (text: string) => Units;

/** There is no units parser: the native module cannot be loaded. */
export class NoUnitsParser extends Error {}

let unitsParser: UnitsParser | undefined;
let noParser: NoUnitsParser | undefined;

/**
 * Use another units parser than libpcp's, or (undefined) go back to it.
 * A program that parses metadata on a machine without PCP can give its own.
 */
export function setUnitsParser(parser: UnitsParser | undefined): void {
  unitsParser = parser;
  noParser = undefined;
}

/** Is there a units parser? */
export function hasUnitsParser(): boolean {
  return unitsParser !== undefined;
}

/**
 * Parse units text with the parser given to setUnitsParser: libpcp's
 * pmParseUnitsStr, which src/pmda/native.ts gives when the native module
 * is loaded. Without one (a producer on a machine without PCP), units
 * are not checked.
 */
export function parseUnits(text: string): Units {
  if (!unitsParser) throw (noParser ??= new NoUnitsParser("parsing units needs libpcp's pmParseUnitsStr, through the native module build/Release/pmda_json.node (npm run build:native), which is not loaded"));
  let units = unitsSeen.get(text);
  if (units) return units;
  units = unitsParser(text);
  if (unitsSeen.size < MAX_UNITS_SEEN) unitsSeen.set(text, units);
  return units;
}

/**
 * Units already parsed, by their text: 4,000 sources of metrics in
 * "count" share one array (a units array is never changed).
 */
const unitsSeen = new Map<string, Units>();
const MAX_UNITS_SEEN = 1000;
