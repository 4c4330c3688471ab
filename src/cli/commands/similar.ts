import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { DISCLAIMER } from '../../eval/index.js';
import { SimilarOptions, findSimilar, type SimilarResult } from '../../pipeline/index.js';
import { finishPerFile, table, checkJsonTarget } from '../output.js';
import { parseMetaPairs } from './predict.js';

/** Per image: its prediction, then one row per similar training case (rank, id, label, cosine similarity); failures with their code. */
export function formatSimilar(res: readonly SimilarResult[]): string {
  const lines: string[] = [];
  for (const r of res) {
    if (r.error) {
      lines.push(`${r.file}: ${r.error.code}: ${r.error.message}`, '');
      continue;
    }
    lines.push(`${r.file}: predicted ${r.label} (${r.probability.toFixed(4)})`);
    lines.push(table([['rank', 'training case', 'label', 'similarity'], ...r.similar.map((c, i) => [i + 1, c.id, c.label, c.similarity.toFixed(4)])]), '');
  }
  lines.push(`Similar cases are nearest neighbours of the model's embedding, not a diagnosis; ${DISCLAIMER}.`);
  return lines.join('\n');
}

/** `medclass similar --run DIR image… [--k 5] [--json]`. */
export function registerSimilar(program: Command): void {
  program
    .command('similar')
    .description(`For each image: the run's prediction and the k most similar training cases (cosine similarity of the model's embeddings; needs medclass index --run DIR first); exit code 2 when some files could not be read, 1 when none could. ${DISCLAIMER}`)
    .requiredOption('--run <dir>', 'run directory with an index/ (medclass index)')
    .argument('<images...>', 'image files (PNG, JPEG, TIFF, BMP, GIF, WebP); @FILE reads them from FILE, one per line')
    .option('--k <n>', SimilarOptions.shape.k.description!, Number)
    .option('--threads <n>', SimilarOptions.shape.threads.description!, Number)
    .option('--json [file]', 'write the results as JSON to a file, or to stdout without a file')
    .option('--meta <pairs>', 'image + tabular runs: the tabular values for the images, column=value pairs (age=45,sex=male,…)')
    .action(async (images: string[], o: { run: string; k?: number; threads?: number; json?: string | boolean; meta?: string }) => {
      checkJsonTarget(o.json);
      const parsed = SimilarOptions.safeParse({
        ...(o.k !== undefined ? { k: o.k } : {}), ...(o.threads !== undefined ? { threads: o.threads } : {}), ...(o.meta !== undefined ? { meta: parseMetaPairs(o.meta) } : {}),
      });
      if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `similar: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`, { hint: 'medclass similar --help' });
      const res = await findSimilar(o.run, images, parsed.data);
      const plain = res.map((r) => (r.error ? r : { file: r.file, label: r.label, probability: r.probability, similar: r.similar.map(({ id, label, similarity }) => ({ id, label, similarity })) }));
      finishPerFile(res, { disclaimer: DISCLAIMER, results: plain }, () => formatSimilar(res), o.json);
    });
}
