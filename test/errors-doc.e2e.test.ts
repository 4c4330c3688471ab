// docs/errors.md tells users what to run: every `medclass <command>` it names must be a command of the CLI.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const DOC = new URL('../docs/errors.md', import.meta.url).pathname;

/** Commands a markdown text names: `medclass X` inside code spans, and `medclass X --flag` anywhere. */
function namedCommands(md: string): string[] {
  const found = new Set<string>();
  for (const span of md.match(/`[^`\n]+`/g) ?? []) for (const m of span.matchAll(/\bmedclass\s+([a-z][\w-]*)/g)) found.add(m[1]!);
  for (const m of md.matchAll(/\bmedclass\s+([a-z][\w-]*)\s+--/g)) found.add(m[1]!);
  return [...found].sort();
}

/** The top-level commands `medclass --help` lists. */
async function cliCommands(): Promise<Set<string>> {
  const r = await runCli(['--help']);
  const section = r.stdout.split(/^Commands:$/m)[1] ?? '';
  return new Set(section.split('\n').map((l) => /^\s{2}([a-z][\w-]*)/.exec(l)?.[1]).filter((c): c is string => c !== undefined));
}

describe('docs/errors.md', () => {
  it('names only commands that exist', async () => {
    const commands = await cliCommands();
    expect(commands.has('train') && commands.has('serve')).toBe(true);
    const named = namedCommands(readFileSync(DOC, 'utf8'));
    expect(named.length).toBeGreaterThan(3);
    expect(named.filter((c) => !commands.has(c))).toEqual([]);
  });

  it('the check catches a command that does not exist', () => {
    expect(namedCommands('| X | rebuild with `medclass reindex --run DIR` | or run medclass frobnicate --all |')).toEqual(['frobnicate', 'reindex']);
    expect(namedCommands('medclass wrote it (prose, no flag)')).toEqual([]);
  });
});
