// The benchmark's data: the value rules shared with bench/cpmda.c (which
// serves the same values from memory) and bench/fetchbench.c (which checks
// every value it fetches), and the metadata.json and data.json of a source
// of a given shape at generation g. Used by bench/run.mjs, the producer
// (bench/producer.mjs) and the experiments.

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

export function intValue(s, j, g) {
  if (s.exotic) {
    if (j === 0) return 9007199254740993n + g;
    if (j === 1) return INT64_MAX - g;
    if (j === 2) return INT64_MIN + g;
  }
  return BigInt(j) * 1000n + g;
}

export function memberValue(s, i, k, g) {
  if (s.exotic && k === s.members - 1) return (1n << 60n) + BigInt(i) * 1000n + g;
  return BigInt(i) * 100000n + BigInt(k) * 1000n + g;
}

/** The data document of source s at generation g, as JSON text (exact int64). */
export function dataText(s, gen) {
  const g = BigInt(gen);
  const parts = [];
  for (let j = 0; j < s.strings; j++) parts.push(`"s${j}": ${JSON.stringify(`${s.name}-s${j}`)}`);
  for (let j = 0; j < s.ints; j++) parts.push(`"m${j}": ${intValue(s, j, g)}`);
  for (let a = 0; a < s.arrays; a++) {
    const rows = [];
    for (let i = 0; i < s.instances; i++) {
      const fields = [`"name": "i${i}"`];
      for (let k = 0; k < s.members; k++) fields.push(`"v${k}": ${memberValue(s, i, k, g)}`);
      rows.push(`{${fields.join(', ')}}`);
    }
    parts.push(`"a${a}": [\n  ${rows.join(',\n  ')}\n]`);
  }
  return `{\n${parts.join(',\n')}\n}\n`;
}

/** The metadata.json of source s; with `execFile`, its data comes from `cat` of that file; with `url`, from that URL. */
export function sourceMetadata(s, execFile, url) {
  const metrics = [];
  for (let j = 0; j < s.strings; j++) metrics.push({ name: `s${j}`, type: 'string', pointer: `/s${j}`, description: `string ${j}` });
  for (let j = 0; j < s.ints; j++) metrics.push({ name: `m${j}`, type: 'integer', pointer: `/m${j}`, description: `integer ${j}` });
  for (let a = 0; a < s.arrays; a++) {
    metrics.push({
      name: `a${a}`, type: 'array', pointer: `/a${a}`, index: '/name', description: `array ${a}`,
      metrics: Array.from({ length: s.members }, (_, k) => ({ name: `v${k}`, type: 'integer', pointer: `/v${k}`, description: `member ${k}` })),
    });
  }
  const md = { metrics };
  if (execFile) md['data-exec'] = `/bin/cat ${execFile}`;
  if (url) md['data-url'] = url;
  return md;
}
