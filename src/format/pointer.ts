// JSON Pointer (RFC 6901): "/a/b~1c/0" names member "a", then member "b/c",
// then element 0. "" is the whole document; "~0" is "~" and "~1" is "/".
import type { JsonValue } from './json';

export class PointerError extends Error {}

export interface Pointer {
  readonly text: string;
  readonly tokens: readonly string[];
}

export function parsePointer(text: string): Pointer {
  if (text === '') return { text, tokens: [] };
  if (text[0] !== '/') throw new PointerError(`JSON pointer '${text}' must be empty or start with '/'`);
  const tokens = text.slice(1).split('/').map((t) => {
    if (/~(?![01])/.test(t)) throw new PointerError(`JSON pointer '${text}' has '~' not followed by 0 or 1`);
    return t.replace(/~1/g, '/').replace(/~0/g, '~');
  });
  return { text, tokens };
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

/** The value `p` names in `doc`, or undefined when there is none. */
export function resolve(p: Pointer, doc: JsonValue | undefined): JsonValue | undefined {
  let v: JsonValue | undefined = doc;
  for (const t of p.tokens) {
    if (v === null || v === undefined || typeof v !== 'object') return undefined;
    if (Array.isArray(v)) {
      if (!ARRAY_INDEX.test(t)) return undefined;
      v = v[Number(t)];
    } else {
      if (!Object.prototype.hasOwnProperty.call(v, t)) return undefined;
      v = (v)[t];
    }
  }
  return v;
}
