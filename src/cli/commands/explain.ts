import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { DISCLAIMER } from '../../eval/index.js';
import { ExplainOptions, explainImages, type ImageExplanation } from '../../pipeline/index.js';
import { finishPerFile, table, checkJsonTarget } from '../output.js';
import { parseMetaPairs } from './predict.js';

/** The explanations as a table: file, predicted label, probability, class explained, PNG path; failures with their code. */
export function formatExplanations(res: readonly ImageExplanation[]): string {
  const rows: (string | number)[][] = [['file', 'label', 'probability', 'explained', 'overlay']];
  for (const r of res) rows.push(r.error ? [r.file, r.error.code, '', '', ''] : [r.file, r.label, r.probability.toFixed(4), r.explained, r.png ?? '']);
  const lines = [table(rows)];
  for (const r of res) if (r.error) lines.push(`${r.file}: ${r.error.code}: ${r.error.message}`);
  lines.push('Grad-CAM shows where the model looked, not why; research software, not a diagnostic device.');
  return lines.join('\n');
}

const desc = (key: keyof typeof ExplainOptions.shape) => ExplainOptions.shape[key].description ?? '';

/** `medclass explain --run DIR image…`: a Grad-CAM overlay PNG per image. */
export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description(`Grad-CAM heat maps of a trained run's model over image files, written as PNG overlays; exit code 2 when some files could not be read, 1 when none could. ${DISCLAIMER}`)
    .requiredOption('--run <dir>', 'run directory written by medclass train')
    .argument('<images...>', 'image files (PNG, JPEG, TIFF, BMP, GIF, WebP); @FILE reads them from FILE, one per line')
    .option('--class <name>', desc('className'))
    .option('--target <which>', 'predicted: explain each image\'s predicted class (the default; --class overrides it)')
    .option('--layer <name>', desc('layer'))
    .option('--out <dir>', desc('out'))
    .option('--colormap <name>', 'inferno or viridis (default inferno)')
    .option('--opacity <a>', 'opacity of the heat where the map is 1 (default 0.6)', Number)
    .option('--threads <n>', desc('threads'), Number)
    .option('--json [file]', 'write the results as JSON to a file, or to stdout without a file')
    .option('--meta <pairs>', 'image + tabular runs: the tabular values for the images, column=value pairs (age=45,sex=male,…)')
    .action(async (images: string[], o: { run: string; class?: string; target?: string; layer?: string; out?: string; colormap?: string; opacity?: number; threads?: number; json?: string | boolean; meta?: string }) => {
      checkJsonTarget(o.json);
      if (o.target !== undefined && o.target !== 'predicted') throw new MedclassError('MC_CLI_BAD_OPTION', `explain: --target accepts only 'predicted', got '${o.target}'`, { hint: 'name a class with --class NAME' });
      const parsed = ExplainOptions.safeParse({
        ...(o.meta !== undefined ? { meta: parseMetaPairs(o.meta) } : {}),
        ...(o.class !== undefined ? { className: o.class } : {}), ...(o.layer ? { layer: o.layer } : {}), ...(o.out ? { out: o.out } : {}),
        ...(o.threads !== undefined ? { threads: o.threads } : {}),
        overlay: { ...(o.colormap ? { colormap: o.colormap } : {}), ...(o.opacity !== undefined ? { opacity: o.opacity } : {}) },
      });
      if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `explain: ${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('; ')}`, { hint: 'medclass explain --help' });
      const res = await explainImages(o.run, images, parsed.data);
      const plain = res.map((r) => (r.error ? r : { file: r.file, label: r.label, probability: r.probability, explained: r.explained, png: r.png, peak: r.peak }));
      finishPerFile(res, { disclaimer: DISCLAIMER, explanations: plain }, () => formatExplanations(res), o.json);
    });
}
