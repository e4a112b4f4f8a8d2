// Command line: pmdajson's options (those of every PCP daemon PMDA) plus
// -r for the root name, so the same code can serve under another name and
// domain beside the python PMDA.
import * as path from 'path';

export interface Options {
  domain: number;
  root: string;
  configFile?: string;
  logFile?: string;
  debug?: string;
}

export const USAGE = `Usage: node dist/pmda/main.js [options]

Options:
  -d, --domain=N      metrics domain (default 137)
  -r, --root=NAME     root of the metric names (default json)
  -c, --config=FILE   configuration (default $PCP_PMDAS_DIR/json/config.json)
  -l, --log=FILE      log file (default <root>.log in the working directory,
                      which is $PCP_LOG_DIR/pmcd/<root>.log under pmcd)
  -D, --debug=SPEC    libpcp debug options; 'appl0' also enables PMDA debug logging
  -U, --username=USER accepted for compatibility; the PMDA keeps pmcd's user
  -?, --help          show this help
`;

export class UsageError extends Error {}

/**
 * The log file: -l, else `<root>.log` relative to the working directory,
 * as PCP's own PMDAs do (pmcd starts its agents in $PCP_LOG_DIR/pmcd).
 */
export function logFileOf(o: Options): string {
  return o.logFile ?? `${o.root}.log`;
}

const LONG: Record<string, string> = {
  domain: 'd', root: 'r', config: 'c', log: 'l', debug: 'D', username: 'U', help: '?',
};

export function parseOptions(argv: readonly string[]): Options {
  const o: Options = { domain: 137, root: 'json' };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let flag: string;
    let value: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const short = LONG[name];
      if (!short) throw new UsageError(`unknown option ${a}`);
      flag = short;
      if (eq >= 0) value = a.slice(eq + 1);
    } else if (a.startsWith('-') && a.length >= 2) {
      flag = a[1]!;
      if (a.length > 2) value = a.slice(2);
    } else {
      throw new UsageError(`unexpected argument ${a}`);
    }
    if (flag === '?' || flag === 'h') throw new UsageError('');
    if (!'drclDU'.includes(flag)) throw new UsageError(`unknown option -${flag}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`option -${flag} needs a value`);
      value = argv[++i]!;
    }
    a = value;
    // One case an option (pmdaGetOptions' letters); src/cli/check.ts has the
    // same shape on purpose, for its own options.
    switch (flag) {
      case 'd': {
        const n = Number(a);
        if (!Number.isInteger(n) || n < 1 || n > 510) throw new UsageError(`invalid domain ${a}`);
        o.domain = n;
        break;
      }
      case 'r':
        if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(a)) throw new UsageError(`invalid root name ${a}`);
        o.root = a;
        break;
      case 'c':
        o.configFile = path.resolve(a);
        break;
      case 'l':
        o.logFile = a;
        break;
      case 'D':
        o.debug = a;
        break;
      case 'U':
        break;
    }
  }
  return o;
}
