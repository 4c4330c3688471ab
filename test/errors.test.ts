import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, MedclassError, isMedclassError } from '../src/errors.js';

describe('error catalogue', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const documented = [...doc.matchAll(/^\| (MC_[A-Z_]+) \|/gm)].map((m) => m[1]);

  it('docs/errors.md has one row per code and no row without a code', () => {
    expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('every code is prefixed by a layer', () => {
    for (const code of Object.keys(ERROR_CODES)) {
      expect(code).toMatch(/^MC_(ENGINE|DATA|MODELS|TRAIN|EVAL|EXPLAIN|RETRIEVAL|RUN|REPORT|SERVE|QUEUE|PACS|CLI)_/);
    }
  });

  it('MedclassError carries code, file and hint', () => {
    const e = new MedclassError('MC_DATA_EMPTY_FILE', 'a.png: file is empty', { file: 'a.png', hint: 'remove it' });
    expect(isMedclassError(e, 'MC_DATA_EMPTY_FILE')).toBe(true);
    expect(e.file).toBe('a.png');
  });
});
