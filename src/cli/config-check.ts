// What the PMDA would make of a config.json, for Install to say before it
// registers the PMDA (Install runs it with the node pmcd will run):
//   node dist/cli/config-check.js CONFIG
// prints one line a finding, in the words of the PMDA's log:
//   error: ...    the file cannot be read or parsed, or is not a JSON
//                 object: the PMDA would serve no source from it
//   warning: ...  a key the PMDA ignores or refuses, or a listed directory
//                 that does not exist (or is not a directory): no source is
//                 found there until it is made
// and a last line `directories: N` (how many are listed). Exit status 1
// with an error, 0 otherwise, 2 for a usage error.
import * as fs from 'fs';
import { parseJson, isObject } from '../format/json';
import type { JsonValue } from '../format/json';
import { loadConfig } from '../pmda/config';

/** The findings about `file`, and whether one of them is an error. */
export function checkConfig(file: string): { lines: string[]; error: boolean } {
  let doc: JsonValue;
  try {
    doc = parseJson(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { lines: [`error: ${err.code ? 'cannot read' : 'cannot parse'} ${file}: ${err.message}`], error: true };
  }
  if (!isObject(doc)) return { lines: [`error: ${file}: configuration must be a JSON object`], error: true };
  const { config, problems } = loadConfig(file);
  const lines = problems.map((p) => `warning: ${p.startsWith(file) ? p : `${file}: ${p}`}`);
  const listed: Array<[string, string]> = [
    ...config.trustedDirectoryList.map((d): [string, string] => ['trusted_directory_list', d]),
    ...config.directoryList.map((d): [string, string] => ['directory_list', d]),
  ];
  for (const [key, dir] of listed) {
    let why: string | undefined;
    try {
      if (!fs.statSync(dir).isDirectory()) why = 'is not a directory';
    } catch (e) {
      why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be looked at: ${(e as Error).message}`;
    }
    if (why) lines.push(`warning: ${file}: ${key} entry ${dir} ${why}: no source is found there until it is made`);
  }
  lines.push(`directories: ${listed.length}`);
  return { lines, error: false };
}

if (require.main === module) {
  const file = process.argv[2];
  if (process.argv.length !== 3 || !file) {
    process.stderr.write('Usage: config-check CONFIG\n');
    process.exitCode = 2;
  } else {
    const r = checkConfig(file);
    process.stdout.write(r.lines.map((l) => `${l}\n`).join(''));
    process.exitCode = r.error ? 1 : 0;
  }
}
