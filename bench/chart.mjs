#!/usr/bin/env node
// Bar chart of the benchmark results: per workload, each PMDA's median
// fetch latency as a multiple of the C floor's, on a log scale, with the
// pmda-json targets marked; below it, the cost by size: median latency
// against values per fetch (seed 3, big 5,100, wide 100,000, million
// 1,000,000), log-log, for the C floor and pmda-json. Plain SVG, no
// dependencies.
//
//   node bench/chart.mjs [bench/results.json] [docs/benchmarks.svg]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const input = process.argv[2] ?? path.join(HERE, 'results.json');
const output = process.argv[3] ?? path.join(HERE, '..', 'docs', 'benchmarks.svg');
const results = JSON.parse(fs.readFileSync(input, 'utf8'));

const COLORS = { c: '#7f8c8d', ts: '#2e86de', py: '#e67e22' };
const LABELS = { c: 'C floor', ts: 'pmda-json', py: 'python pmdajson' };
const TARGETS = { big: 1.15, one: 1.3, wide: 1.15, million: 1.15, churn: 1.5, exec: 1.5 };
const SIZES = ['seed', 'big', 'wide', 'million'];
const ids = results.meta.pmdas.filter((id) => COLORS[id]);
const workloads = results.workloads.filter((w) => w.results.c);

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

// layout
const W = 920;
const BARS_H = 470;
const sized = SIZES.map((id) => results.workloads.find((w) => w.id === id)).filter((w) => w?.results.c?.p50_ms > 0 && w.results.ts?.p50_ms > 0);
const CURVE_H = sized.length >= 2 ? 330 : 0;
const H = BARS_H + CURVE_H;
const M = { left: 64, right: 20, top: 64, bottom: 92 };
const plotW = W - M.left - M.right;
const plotH = BARS_H - M.top - M.bottom;
const ratios = workloads.flatMap((w) => ids.map((id) => w.ratios[id]?.p50_vs_c).filter((r) => r > 0));
const maxRatio = Math.max(2, ...ratios);
// the smallest 1, 2 or 5 × 10^k with room above the tallest bar for its label
const top = (() => {
  for (let p = 0; ; p++) for (const k of [1, 2, 5]) if (k * 10 ** p >= maxRatio * 1.5) return k * 10 ** p;
})();
const bottom = 0.5;
const y = (r) => M.top + plotH * (1 - (Math.log10(r) - Math.log10(bottom)) / (Math.log10(top) - Math.log10(bottom)));

const parts = [];
parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`);
parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
const m = results.meta.machine;
parts.push(`<text x="${M.left}" y="24" font-size="16" font-weight="bold">Fetch latency relative to a C PMDA (median; lower is better, log scale)</text>`);
parts.push(`<text x="${M.left}" y="44" fill="#555">${esc(`${results.meta.date.slice(0, 10)} · ${m.nproc} × ${m.cpu} · Linux ${m.kernel} · node ${m.node} · PCP ${m.pcp}${results.meta.quick ? ' · QUICK run' : ''}`)}</text>`);

// grid
for (let p = Math.floor(Math.log10(bottom)); p <= Math.round(Math.log10(top)); p++) {
  for (const k of [1, 2, 5]) {
    const r = k * 10 ** p;
    if (r < bottom || r > top) continue;
    const yy = y(r);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${yy.toFixed(1)}" y2="${yy.toFixed(1)}" stroke="${k === 1 ? '#bbb' : '#e6e6e6'}"/>`);
    parts.push(`<text x="${M.left - 6}" y="${(yy + 4).toFixed(1)}" text-anchor="end" fill="#555">${r >= 1 ? r : r.toFixed(1)}×</text>`);
  }
}
parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(1).toFixed(1)}" y2="${y(1).toFixed(1)}" stroke="#333"/>`);

// bars
const groupW = plotW / workloads.length;
const barW = Math.min(44, (groupW * 0.8) / ids.length);
workloads.forEach((w, g) => {
  const x0 = M.left + g * groupW + (groupW - barW * ids.length) / 2;
  ids.forEach((id, b) => {
    const r = w.ratios[id]?.p50_vs_c;
    if (!(r > 0)) return;
    const x = x0 + b * barW;
    const y1 = y(Math.max(r, bottom));
    const yBase = y(bottom);
    const ms = w.results[id].p50_ms;
    parts.push(`<rect x="${(x + 2).toFixed(1)}" y="${y1.toFixed(1)}" width="${(barW - 4).toFixed(1)}" height="${(yBase - y1).toFixed(1)}" fill="${COLORS[id]}"><title>${esc(`${LABELS[id]}, ${w.label}: ${ms} ms median, ${fmt(r)}× the C floor`)}</title></rect>`);
    parts.push(`<text x="${(x + barW / 2).toFixed(1)}" y="${(y1 - 4).toFixed(1)}" text-anchor="middle" font-size="11">${fmt(r)}×</text>`);
  });
  const t = TARGETS[w.id];
  const bi = ids.indexOf('ts');
  if (t && bi >= 0) {
    const x = x0 + bi * barW;
    parts.push(`<line x1="${(x - 2).toFixed(1)}" x2="${(x + barW + 2).toFixed(1)}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#c0392b" stroke-width="2" stroke-dasharray="4 2"><title>target ${t}×</title></line>`);
  }
  const cx = M.left + g * groupW + groupW / 2;
  // the workload's id: the long labels of neighbours would overlap
  const words = w.id;
  parts.push(`<text x="${cx.toFixed(1)}" y="${BARS_H - M.bottom + 18}" text-anchor="middle" font-weight="bold">${esc(words)}</text>`);
  parts.push(`<text x="${cx.toFixed(1)}" y="${BARS_H - M.bottom + 34}" text-anchor="middle" fill="#555" font-size="11">${esc(`${w.results.c.values_per_fetch.toLocaleString('en-US')} val.`)}</text>`);
  parts.push(`<text x="${cx.toFixed(1)}" y="${BARS_H - M.bottom + 48}" text-anchor="middle" fill="#555" font-size="11">${esc(`floor ${Number(w.results.c.p50_ms.toPrecision(3))} ms`)}</text>`);
});

// legend
let lx = M.left;
const ly = BARS_H - 22;
for (const id of ids) {
  parts.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${COLORS[id]}"/>`);
  parts.push(`<text x="${lx + 18}" y="${ly}">${esc(LABELS[id])}</text>`);
  lx += 40 + LABELS[id].length * 7;
}
parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="#c0392b" stroke-width="2" stroke-dasharray="4 2"/>`);
parts.push(`<text x="${lx + 28}" y="${ly}">pmda-json target</text>`);
// cost by size: p50 ms against values per fetch, log-log
if (CURVE_H) {
  const top0 = BARS_H + 40;
  const C = { left: M.left, right: W - 200, top: top0, bottom: BARS_H + CURVE_H - 50 };
  const pts = sized.flatMap((w) => ['c', 'ts'].map((id) => ({ id, w, n: w.results[id].values_per_fetch, ms: w.results[id].p50_ms })));
  const decade = (v, up) => 10 ** (up ? Math.ceil(Math.log10(v)) : Math.floor(Math.log10(v)));
  const nLo = decade(Math.min(...pts.map((p) => p.n)), false);
  const nHi = decade(Math.max(...pts.map((p) => p.n)), true);
  const msLo = decade(Math.min(...pts.map((p) => p.ms)), false);
  const msHi = decade(Math.max(...pts.map((p) => p.ms)), true);
  const cx = (n) => C.left + ((Math.log10(n) - Math.log10(nLo)) / (Math.log10(nHi) - Math.log10(nLo))) * (C.right - C.left);
  const cy = (ms) => C.bottom - ((Math.log10(ms) - Math.log10(msLo)) / (Math.log10(msHi) - Math.log10(msLo))) * (C.bottom - C.top);
  parts.push(`<text x="${M.left}" y="${top0 - 16}" font-size="16" font-weight="bold">Cost by size: median fetch latency against values per fetch (log-log)</text>`);
  for (let v = nLo; v <= nHi; v *= 10) {
    parts.push(`<line x1="${cx(v).toFixed(1)}" x2="${cx(v).toFixed(1)}" y1="${C.top}" y2="${C.bottom}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${cx(v).toFixed(1)}" y="${C.bottom + 16}" text-anchor="middle" fill="#555">${v.toLocaleString('en-US')}</text>`);
  }
  for (let v = msLo; v <= msHi * 1.0001; v *= 10) {
    parts.push(`<line x1="${C.left}" x2="${C.right}" y1="${cy(v).toFixed(1)}" y2="${cy(v).toFixed(1)}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${C.left - 6}" y="${(cy(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${v >= 1 ? v : v.toPrecision(1)} ms</text>`);
  }
  parts.push(`<text x="${((C.left + C.right) / 2).toFixed(1)}" y="${C.bottom + 34}" text-anchor="middle" fill="#555">values per fetch</text>`);
  for (const id of ['c', 'ts']) {
    const mine = pts.filter((p) => p.id === id).sort((a, b) => a.n - b.n);
    parts.push(`<polyline fill="none" stroke="${COLORS[id]}" stroke-width="2" points="${mine.map((p) => `${cx(p.n).toFixed(1)},${cy(p.ms).toFixed(1)}`).join(' ')}"/>`);
    for (const p of mine) {
      parts.push(`<circle cx="${cx(p.n).toFixed(1)}" cy="${cy(p.ms).toFixed(1)}" r="4" fill="${COLORS[id]}"><title>${esc(`${LABELS[id]}, ${p.w.id}: ${p.ms} ms for ${p.n.toLocaleString('en-US')} values (${fmt((p.ms * 1000) / p.n)} ms per 1,000)`)}</title></circle>`);
    }
  }
  // the ratio at each size, beside the pmda-json point
  sized.forEach((w, i) => {
    const n = w.results.ts.values_per_fetch;
    const last = i === sized.length - 1;
    parts.push(`<text x="${(cx(n) + (last ? -8 : 6)).toFixed(1)}" y="${(cy(w.results.ts.p50_ms) - 8).toFixed(1)}" font-size="11"${last ? ' text-anchor="end"' : ''}>${esc(`${w.id} ${fmt(w.results.ts.p50_ms / w.results.c.p50_ms)}×`)}</text>`);
  });
  let ky = C.bottom - 30;
  for (const id of ['c', 'ts']) {
    parts.push(`<rect x="${C.right + 24}" y="${ky - 10}" width="12" height="12" fill="${COLORS[id]}"/>`);
    parts.push(`<text x="${C.right + 42}" y="${ky}">${esc(LABELS[id])}</text>`);
    ky += 20;
  }
}
parts.push('</svg>');

fs.writeFileSync(output, parts.join('\n') + '\n');
process.stderr.write(`chart: ${path.relative(process.cwd(), output)}\n`);
