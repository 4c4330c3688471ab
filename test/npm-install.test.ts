// `npm install` on a fresh clone prints no warning a user must learn to ignore: read from package-lock.json, no
// locked package needs a newer Node than the one running (npm's EBADENGINE), and every install script has its
// allowScripts decision in package.json (npm 11 lists the undecided ones).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const lock = JSON.parse(readFileSync(`${ROOT}package-lock.json`, 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string }; hasInstallScript?: boolean }> };
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { engines: { node: string }; allowScripts?: Record<string, boolean> };

type Version = [number, number, number];
const parse = (v: string): Version => {
  const [a = 0, b = 0, c = 0] = v.replace(/^v/, '').split('.').map((x) => (/^\d+$/.test(x) ? Number(x) : 0));
  return [a, b, c];
};
const cmp = (a: Version, b: Version) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** Whether `version` satisfies an npm range made of `||` alternatives of comparators (>=, >, <=, <, ^, ~, =, x, *). */
export function satisfies(version: string, range: string): boolean {
  const v = parse(version);
  return range.split('||').some((alt) => alt.trim().replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1').split(/\s+/).every((c) => {
    const m = /^(>=|<=|>|<|\^|~|=)?v?([\dx*.]*)$/.exec(c);
    if (!m) throw new Error(`range '${range}': cannot read '${c}'`);
    const [, op = '=', raw = ''] = m;
    const parts = raw.split('.').filter((p) => p !== '' && p !== 'x' && p !== '*');
    const w = parse(parts.join('.'));
    if (op === '>=') return cmp(v, w) >= 0;
    if (op === '>') return cmp(v, w) > 0;
    if (op === '<=') return cmp(v, w) <= 0;
    if (op === '<') return cmp(v, w) < 0;
    if (op === '^') return cmp(v, w) >= 0 && (w[0] > 0 ? v[0] === w[0] : v[0] === 0 && v[1] === w[1]);
    if (op === '~') return cmp(v, w) >= 0 && v[0] === w[0] && v[1] === w[1];
    return parts.every((p, i) => v[i] === Number(p)); // =, bare, x-range, * (no parts: anything)
  }));
}

describe('npm install on a fresh clone', () => {
  it('reads npm ranges as npm does (cases from the semver README)', () => {
    const cases: [string, string, boolean][] = [
      ['20.20.2', '>=22', false], ['22.0.0', '>=22', true], ['20.20.2', '^20.19.0 || >=22.12.0', true], ['20.9.0', '^20.19.0 || >=22.12.0', false],
      ['20.20.2', '>= 12.0.0', true], ['20.20.2', '^8.16.0 || ^10.6.0 || >=11.0.0', true], ['20.20.2', '>= 10.x', true], ['20.20.2', '*', true],
      ['20.20.2', '^20.0.0 || ^22.0.0 || >=24.0.0', true], ['23.1.0', '^20.0.0 || ^22.0.0 || >=24.0.0', false], ['0.3.1', '^0.2.0', false],
      ['20.20.2', '~20.20.0', true], ['20.21.0', '~20.20.0', false], ['20.20.2', '20.x', true], ['21.0.0', '20.x', false],
    ];
    for (const [v, r, want] of cases) expect(satisfies(v, r), `${v} in ${r}`).toBe(want);
  });

  it('no locked package needs a newer Node than this one (no EBADENGINE)', () => {
    const bad = Object.entries(lock.packages).filter(([, p]) => p.engines?.node && !satisfies(process.version, p.engines.node))
      .map(([k, p]) => `${k}@${p.version}: node ${p.engines!.node}`);
    expect(bad).toEqual([]);
    expect(satisfies(process.version, pkg.engines.node)).toBe(true);
  });

  it('every package with an install script has its allowScripts decision in package.json (documented in .npmrc)', () => {
    const names = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript).map(([k]) => k.slice(k.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(names.length).toBeGreaterThan(0);
    const npmrc = readFileSync(`${ROOT}.npmrc`, 'utf8');
    for (const n of names) {
      expect(pkg.allowScripts?.[n], n).toBeTypeOf('boolean');
      expect(npmrc, `.npmrc says why for ${n}`).toContain(n);
    }
  });
});
