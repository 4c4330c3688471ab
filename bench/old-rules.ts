// The gradient rules an A/B bench swaps in for the current ones: AB_OLD_RULES=path.ts (a module exporting `rules`),
// or AB_OLD_RULES=git:COMMIT[:path] — a rule file (default src/engine/autodiff/rules/conv.ts; its exported `…Rules`
// table) as it was at COMMIT, written next to this file with its imports pointed at today's modules, so no snapshot copy lives in bench/.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RULES } from '../src/engine/index.js';

let loads = 0; // one file per load: a second import of the same path would return the first module

export async function loadOldRules(spec = process.env.AB_OLD_RULES): Promise<Partial<typeof RULES>> {
  if (!spec) return {};
  if (!spec.startsWith('git:')) return ((await import(spec)) as { rules: typeof RULES }).rules;
  const [, commit, path = 'src/engine/autodiff/rules/conv.ts'] = spec.split(':');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = path.split('/').slice(0, -1).join('/');
  const src = execFileSync('git', ['show', `${commit}:${path}`], { cwd: root, encoding: 'utf8' })
    .replace(/from '(\.\.?\/[^']+)'/g, (_, rel: string) => `from '${new URL(rel, `file://${root}${dir}/`).pathname}'`);
  const file = fileURLToPath(new URL(`./.old-rules-${process.pid}-${loads++}.ts`, import.meta.url));
  const table = /export const (\w+Rules) =/.exec(src)?.[1];
  if (!table) throw new Error(`${commit}:${path} exports no rule table (export const …Rules =)`);
  writeFileSync(file, `${src}\nexport { ${table} as rules };\n`);
  try {
    return ((await import(file)) as { rules: typeof RULES }).rules;
  } finally {
    rmSync(file, { force: true });
  }
}
