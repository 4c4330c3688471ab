import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The CLI entry, run through tsx like `npx medclass`. */
export const BIN = new URL('../../bin/medclass.js', import.meta.url).pathname;

/** Runs `medclass <args>` in a child process and returns its exit code and output (never throws on exit ≠ 0). */
export async function runCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
