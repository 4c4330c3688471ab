import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const TEST_DIR = new URL('..', import.meta.url).pathname;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('browser tests', () => {
  // playwright re-evaluates a string predicate with eval on every poll after the first; the web app's CSP refuses eval,
  // so a string predicate passes on a fast machine and fails whenever the page is slower than the first check.
  it('give waitForFunction a function, never a string', () => {
    const STRING_PREDICATE = /\.waitForFunction\(\s*['"`]/;
    const self = new URL(import.meta.url).pathname;
    const offenders = tsFiles(TEST_DIR).filter((f) => f !== self && STRING_PREDICATE.test(readFileSync(f, 'utf8'))).map((f) => relative(TEST_DIR, f));
    expect(offenders).toEqual([]);
    expect(STRING_PREDICATE.test(`page.waitForFunction('document.title', undefined)`)).toBe(true); // the check can fail
  });
});
