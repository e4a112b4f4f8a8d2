// PCP names and JSON pointer tokens: the rules the PMDA, the producer and
// the generator all apply.

/** PCP metric name components: a letter, then letters, digits or '_'. */
const COMPONENT = /^[A-Za-z][A-Za-z0-9_]*$/;

/** True when `name` is a valid PCP name: dot-separated parts, each a letter then letters, digits or '_'. */
export function validName(name: string): boolean {
  return name.length > 0 && name.split('.').every((c) => COMPONENT.test(c));
}

/** One RFC 6901 reference token: '~' as '~0', '/' as '~1'. */
export function escapeToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The JSON pointer of a path of tokens. */
export function pointerOf(tokens: readonly string[]): string {
  return tokens.map((t) => '/' + escapeToken(t)).join('');
}
