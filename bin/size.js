#!/usr/bin/env node
// Lines of TypeScript per layer under src/ (like tinygrad's sz.py), and the files past the ~300-line guideline.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const src = new URL('../src/', import.meta.url).pathname;
const walk = (d) => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : f.endsWith('.ts') ? [join(d, f)] : []));
const byLayer = new Map();
const long = [];
for (const file of walk(src)) {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() && !l.trim().startsWith('//')).length;
  const rel = relative(src, file);
  const layer = rel.includes('/') ? rel.split('/')[0] : '(root)';
  const e = byLayer.get(layer) ?? { files: 0, lines: 0 };
  byLayer.set(layer, { files: e.files + 1, lines: e.lines + lines });
  if (lines > 300) long.push([rel, lines]);
}
let total = 0;
for (const [layer, e] of [...byLayer].sort((a, b) => b[1].lines - a[1].lines)) {
  console.log(`${layer.padEnd(10)} ${String(e.files).padStart(4)} files ${String(e.lines).padStart(7)} lines`);
  total += e.lines;
}
console.log(`${'total'.padEnd(10)} ${' '.repeat(10)} ${String(total).padStart(7)} lines (non-blank, non-comment)`);
if (long.length) console.log(`\nover 300 lines:\n${long.map(([f, n]) => `  ${f} ${n}`).join('\n')}`);
