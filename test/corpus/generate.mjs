// Big corpus inputs, built at test time instead of being committed: a
// case file names one of these in "generate", and its files are merged
// into the case's source directory (see test/corpus/README.md).
const MB = 1024 * 1024;

const deepArray = (depth, inner) => '['.repeat(depth) + inner + ']'.repeat(depth);
const deepObject = (depth, inner) => '{"a":'.repeat(depth) + inner + '}'.repeat(depth);

/** name -> () => { "relative path": { text } | { buffer } } */
export const GENERATORS = {
  // 100,000 levels of arrays beside a shallow value
  'deep-array-100k': () => ({ 'data.json': { text: `{"v": 7, "deep": ${deepArray(100000, '1')}}` } }),
  // the same with a 64-bit integer at the bottom (the exact-integer path)
  'deep-array-100k-bigint': () => ({ 'data.json': { text: `{"v": 7, "deep": ${deepArray(100000, '9223372036854775807')}}` } }),
  // 100,000 levels of objects, and the value at the bottom
  'deep-object-100k': () => ({ 'data.json': { text: deepObject(100000, '{"v": 5}') } }),
  // a pointer 100,000 tokens long into that document
  'deep-pointer-100k': () => ({
    'metadata.json': { text: JSON.stringify({ metrics: [{ name: 'v', pointer: '/a'.repeat(100000) + '/v', type: 'integer' }] }) },
    'data.json': { text: deepObject(100000, '{"v": 5}') },
  }),
  // metadata.json nested 100,000 deep
  'deep-metadata-100k': () => ({ 'metadata.json': { text: deepArray(100000, '{}') } }),
  // a metric's description nested 100,000 deep
  'deep-description-100k': () => ({
    'metadata.json': { text: `{"metrics": [{"name": "bad", "pointer": "/v", "type": "integer", "description": ${deepArray(100000, '"x"')}}, {"name": "v", "pointer": "/v", "type": "integer"}]}` },
    'data.json': { text: '{"v": 3}' },
  }),
  // 100,000 levels unclosed
  'deep-truncated-100k': () => ({ 'data.json': { text: '{"v": ' + '['.repeat(100000) } }),
  // a 10 MB string value (cut to max_string_bytes when served)
  'string-10mb': () => ({ 'data.json': { text: `{"s": "${'x'.repeat(10 * MB)}"}` } }),
  // a 10 MB string of 3-byte characters: cut on a character boundary
  'string-10mb-multibyte': () => ({ 'data.json': { text: `{"s": "${'€'.repeat(Math.floor(10 * MB / 3))}"}` } }),
  // a 10 MB string of escapes
  'string-10mb-escapes': () => ({ 'data.json': { text: `{"s": "${'\\u0041'.repeat(Math.floor(10 * MB / 6))}", "v": 1}` } }),
  // a 10 MB instance name
  'instance-name-10mb': () => ({ 'data.json': { text: `{"a": [{"n": "${'i'.repeat(10 * MB)}", "v": 1}, {"n": "ok", "v": 2}]}` } }),
  // a 10 MB key holding the value
  'key-10mb': () => ({ 'data.json': { text: `{"${'k'.repeat(10 * MB)}": 1, "v": 2}` } }),
  // a 10 MB metric name: a valid PCP name, but not one to serve
  'metric-name-10mb': () => ({
    'metadata.json': { text: JSON.stringify({ metrics: [{ name: 'm'.repeat(10 * MB), pointer: '/v', type: 'integer' }, { name: 'v', pointer: '/v', type: 'integer' }] }) },
    'data.json': { text: '{"v": 4}' },
  }),
  // a 10 MB description
  'description-10mb': () => ({
    'metadata.json': { text: JSON.stringify({ metrics: [{ name: 'v', pointer: '/v', type: 'integer', description: 'd'.repeat(10 * MB) }] }) },
    'data.json': { text: '{"v": 6}' },
  }),
  // a 20 MB data file: over the default max_data_bytes (16 MiB)
  'data-20mb': () => ({ 'data.json': { text: `{"v": 1, "pad": "${'p'.repeat(20 * MB)}"}` } }),
  // a metadata.json of 20 MB of spaces around a valid document
  'metadata-20mb': () => ({
    'metadata.json': { text: '{"metrics": [{"name": "v", "pointer": "/v", "type": "integer"}]}' + ' '.repeat(20 * MB) },
    'data.json': { text: '{"v": 8}' },
  }),
  // 200,000 instances (over the default max_instances of 100,000)
  'instances-200k': () => ({ 'data.json': { text: JSON.stringify({ a: Array.from({ length: 200000 }, (_, i) => ({ n: `i${i}`, v: i })) }) } }),
  // 1,100 metrics (over the default max_metrics of 1023)
  'metrics-1100': () => ({
    'metadata.json': { text: JSON.stringify({ metrics: Array.from({ length: 1100 }, (_, i) => ({ name: `m${i}`, pointer: `/m${i}`, type: 'integer' })) }) },
    'data.json': { text: JSON.stringify(Object.fromEntries(Array.from({ length: 1100 }, (_, i) => [`m${i}`, i]))) },
  }),
  // an object with 600,000 keys (10 MB)
  'keys-600k': () => ({ 'data.json': { text: '{' + Array.from({ length: 600000 }, (_, i) => `"k${i}":${i}`).join(',') + ',"v":9}' } }),
  // a 5,000-digit integer
  'digits-5000': () => ({ 'data.json': { text: `{"v": ${'9'.repeat(5000)}, "d": ${'9'.repeat(5000)}}` } }),
};

export function generate(name) {
  const g = GENERATORS[name];
  if (!g) throw new Error(`no corpus generator '${name}'`);
  return g();
}
