import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const LAYERS = ['engine', 'data', 'models', 'train', 'eval', 'explain', 'retrieval', 'run', 'report', 'pipeline', 'serve', 'pacs', 'queue', 'cli'];
const SRC = new URL('../src/', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('layering', () => {
  it('no module imports from a higher layer or into another layer\'s internals', () => {
    const problems: string[] = [];
    for (const file of files(SRC)) {
      const rel = relative(SRC, file);
      const layer = rel.split('/')[0]!;
      const rank = LAYERS.indexOf(layer);
      if (rank < 0) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = relative(SRC, join(file, '..', m[1]!));
        const tLayer = target.split('/')[0]!;
        if (tLayer === layer || target === 'errors.js') continue;
        const tRank = LAYERS.indexOf(tLayer);
        if (tRank > rank) problems.push(`${rel} imports higher layer ${target}`);
        else if (tRank >= 0 && target !== `${tLayer}/index.js`) problems.push(`${rel} imports ${target}, not ${tLayer}/index.js`);
      }
      if (layer !== 'cli' && /\bprocess\.(exit|argv|env|stdout)\b/.test(readFileSync(file, 'utf8'))) {
        problems.push(`${rel} touches process.exit/argv/env/stdout outside src/cli`);
      }
    }
    expect(problems).toEqual([]);
  });
});
