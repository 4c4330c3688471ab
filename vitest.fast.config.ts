// `npm run test:fast`: the pure (`*.test.ts`) and runtime (`*.ort.test.ts`) tests that neither read ../shared nor
// spawn a process (nor import a test helper that does), for a quick check before the full `npm test`.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/** What makes a test slow or machine-dependent: the shared data folder, a child process, the CLI helper. */
const HEAVY = /\.\.\/shared\/|node:child_process|helpers\/cli\.js/;
const ROOT = dirname(new URL(import.meta.url).pathname);
const SLOW_SUFFIX = /\.(data|e2e)\.test\.ts$/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? testFiles(p) : e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** Whether the file, or a test helper it imports (relative, under test/, transitively), matches HEAVY. */
function heavy(file: string, seen = new Set<string>()): boolean {
  if (seen.has(file)) return false;
  seen.add(file);
  let src: string;
  try { src = readFileSync(file, 'utf8'); } catch { return false; }
  if (HEAVY.test(src)) return true;
  const helpers = [...src.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)].map((m) => resolve(dirname(file), `${m[1]}.ts`)).filter((p) => relative(ROOT, p).startsWith('test/'));
  return helpers.some((h) => heavy(h, seen));
}

/** The fast subset, found by reading the test files (so a new test joins or leaves it by what it does). */
export const FAST_TESTS = testFiles(join(ROOT, 'test')).filter((f) => !SLOW_SUFFIX.test(f) && !heavy(f)).sort();

// (mergeConfig would append to the base's include list, not replace it)
// isolate: false reuses the imported modules (onnxruntime, sharp, the engine) across the files of a worker: the files
// take 30 s together, and importing them afresh per file took as long again; `npm test` keeps every file isolated.
export default defineConfig({ ...base, test: { ...base.test, include: FAST_TESTS, isolate: false } });
