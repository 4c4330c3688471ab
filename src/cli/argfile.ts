import { readFileSync } from 'node:fs';
import { MedclassError } from '../errors.js';

/**
 * Expands `@FILE` arguments (after node and the script) into FILE's lines, one argument per non-empty line, as
 * gcc and javac do: a list of thousands of image paths goes in a file instead of the command line. An argument or a
 * line that starts with `@@` stands for itself without one `@` (a path that really begins with `@`); lines are not
 * expanded again.
 */
export function expandArgFiles(argv: readonly string[]): string[] {
  const out = argv.slice(0, 2);
  for (const a of argv.slice(2)) {
    if (a.startsWith('@@')) out.push(a.slice(1));
    else if (a.startsWith('@') && a.length > 1) out.push(...readArgFile(a.slice(1)));
    else out.push(a);
  }
  return out;
}

function readArgFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new MedclassError('MC_CLI_BAD_OPTION', `@${file}: cannot read the argument file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.length > 0).map((l) => (l.startsWith('@@') ? l.slice(1) : l));
}
