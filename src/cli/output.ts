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
