// The decoder: a record of the fetch buffer read back, in the layout the
// Encoder writes (src/pmda/records/encoder.ts) and the shim reads
// (native/fetch.cc): for pmdajson-check, which shows what a fetch
// would answer.
import type { ValueType } from '../../format/metadata';

export type Decoded = { error: number } | { values: Array<[inst: number, value: number | bigint | string]> };

/** The i-th record of `buf`: its values (integers past 2^53 as bigint), or its error code. */
export function decodeRecord(buf: Buffer, i: number, type: ValueType): Decoded {
  const at = buf.readUInt32LE(i * 4);
  const count = buf.readInt32LE(at);
  if (count < 0) return { error: count };
  const values: Array<[number, number | bigint | string]> = [];
  for (let k = 0; k < count; k++) {
    const e = at + 8 + k * 16;
    const inst = buf.readInt32LE(e);
    let v: number | bigint | string;
    if (type === 'integer') {
      const b = buf.readBigInt64LE(e + 8);
      v = b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
    } else if (type === 'double') v = buf.readDoubleLE(e + 8);
    else {
      const from = at + buf.readUInt32LE(e + 8);
      v = buf.toString('utf8', from, buf.indexOf(0, from));
    }
    values.push([inst, v]);
  }
  return { values };
}
