import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { checkFixture, FIXTURE_TOLERANCE, fixturePasses, type FixtureCheck } from '../../engine/index.js';
import { MedclassError } from '../../errors.js';
import { out, table } from '../output.js';

const e = (v: number | undefined) => (v === undefined ? '—' : v.toExponential(2));

/** Fixture case directories under `dir`: `dir` itself when it has meta.json, else its sub-directories that do. */
function caseDirs(dir: string): string[] {
  if (existsSync(join(dir, 'meta.json'))) return [dir];
  if (!existsSync(dir)) throw new MedclassError('MC_CLI_BAD_OPTION', `fixture directory '${dir}' does not exist`);
  const subs = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'meta.json')));
  if (subs.length === 0) throw new MedclassError('MC_CLI_BAD_OPTION', `'${dir}' holds no fixture (no meta.json)`, { hint: 'point at ../shared/fixtures/autodiff/<case>' });
  return subs.map((d) => join(dir, d.name)).sort();
}

export function registerEngine(program: Command): void {
  const engine = program.command('engine').description('Training-engine tools');
  engine.command('check')
    .description(`Check loss, gradients, SGD and AdamW steps against a PyTorch reference fixture (fails above ${FIXTURE_TOLERANCE})`)
    .argument('<fixture-dir...>', 'a case of ../shared/fixtures/autodiff (or the folder of all cases)')
    .option('--json <file>', 'write the results as JSON')
    .addOption(new Option('--threads <n>', 'onnxruntime intra-op threads').argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new MedclassError('MC_CLI_BAD_OPTION', `--threads: expected a positive integer, got '${v}'`);
      return n;
    }))
    .action(async (dirs: string[], opts: { json?: string; threads?: number }) => {
      const results: (FixtureCheck & { pass: boolean })[] = [];
      for (const dir of dirs.flatMap(caseDirs)) {
        const r = await checkFixture(dir, opts.threads !== undefined ? { threads: opts.threads } : {});
        results.push({ ...r, pass: fixturePasses(r) });
      }
      const rows: (string | number)[][] = [['case', 'params', 'loss rel err', 'max grad rel err', 'worst param', 'SGD err', 'AdamW×3 err', 'compile ms', 'result']];
      for (const r of results) {
        rows.push([r.case, r.params, e(r.lossRelError), e(r.maxGradRelError), r.worstParam, e(r.sgdError), e(r.adamwError), Math.round(r.compileMs), r.pass ? 'pass' : 'FAIL']);
      }
      out(table(rows));
      const noisy = results.filter((r) => (r.adamwNoiseEntries ?? 0) > 0);
      if (noisy.length > 0) {
        out(`AdamW error leaves out entries whose reference gradient is float32 round-off (< 1e-6 of the tensor's max): ${noisy.map((r) => `${r.case} ${r.adamwNoiseEntries}`).join(', ')}`);
      }
      if (opts.json) {
        writeFileSync(opts.json, `${JSON.stringify({ tolerance: FIXTURE_TOLERANCE, results }, null, 2)}\n`);
        out(`results written to ${opts.json}`);
      }
      process.exitCode = results.every((r) => r.pass) ? 0 : 1;
    });
}
