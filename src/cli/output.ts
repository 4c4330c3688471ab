import { existsSync, writeFileSync } from 'node:fs';
import { MedclassError } from '../errors.js';

/** Prints `code: message` and the hint for MedclassErrors, the message (and stack when MEDCLASS_DEBUG) otherwise. */
export function printError(e: unknown): void {
  if (e instanceof MedclassError) {
    process.stderr.write(`${e.code}: ${e.message}\n`);
    if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    return;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  process.stderr.write(`error: ${err.message}\n`);
  if (process.env.MEDCLASS_DEBUG) process.stderr.write(`${err.stack}\n`);
}

/** Writes a string to stdout, adding a newline. */
export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Renders rows as an aligned text table (first row is the header). */
export function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/**
 * Refuses a `--json FILE` that would overwrite an existing file not ending in `.json`: `--json` takes an optional
 * value, so `predict --json a.png b.png` reads `a.png` as the output file and would replace the image with JSON.
 */
export function checkJsonTarget(jsonOpt: string | boolean | undefined): void {
  if (typeof jsonOpt !== 'string' || jsonOpt.toLowerCase().endsWith('.json') || !existsSync(jsonOpt)) return;
  throw new MedclassError('MC_CLI_BAD_OPTION', `--json ${jsonOpt}: that file exists and is not a .json file; it would be overwritten with the results`, {
    hint: 'name a .json file after --json (--json out.json), or put a bare --json last to print JSON on stdout',
  });
}

/**
 * Ends a per-file command (predict, explain, similar): JSON on stdout with `--json`, else the human table (and the
 * JSON written to `--json FILE`); exit code 0 when every file worked, 2 when some failed, 1 when all did.
 */
export function finishPerFile(results: readonly { error?: unknown }[], json: unknown, human: () => string, jsonOpt: string | boolean | undefined): void {
  const text = `${JSON.stringify(json, null, 2)}\n`;
  if (jsonOpt === true) process.stdout.write(text);
  else {
    out(human());
    if (typeof jsonOpt === 'string') writeFileSync(jsonOpt, text);
  }
  const failed = results.filter((r) => r.error).length;
  process.exitCode = failed === results.length ? 1 : failed > 0 ? 2 : 0;
}
