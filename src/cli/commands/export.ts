import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { DISCLAIMER } from '../../eval/index.js';
import { TritonExportOptions, exportTriton, type TritonExport } from '../../pipeline/index.js';
import { out } from '../output.js';

/** A flag's help line: the schema's description and its default, when it has one. */
const desc = (key: keyof typeof TritonExportOptions.shape) => {
  const d = (TritonExportOptions.parse({}) as Record<string, unknown>)[key];
  return `${TritonExportOptions.shape[key].description}${d === undefined ? '' : ` (default ${JSON.stringify(d)})`}`;
};

/** What the export wrote: the model folder, its files, the tensors and config.pbtxt. */
export function formatTritonExport(r: TritonExport): string {
  const t = (v: TritonExport['inputs'][number]) => `${v.name} ${v.dtype} [${v.dims.join(',')}]`;
  return [
    `wrote Triton model '${r.name}' to ${r.modelDir}: ${r.files.join(', ')}`,
    `inputs: ${r.inputs.map(t).join('; ')}`,
    `outputs: ${r.outputs.map(t).join('; ')}`,
    '', r.config.trimEnd(), '',
    `Client steps: docs/serving-platforms.md. ${DISCLAIMER}.`,
  ].join('\n');
}

/** `medclass export --triton DIR --run RUN [--raw-input]`: a Triton model repository entry for a run. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description(`Export a run for a serving platform. --triton DIR writes DIR/<name>/config.pbtxt (platform onnxruntime_onnx, dynamic batching), DIR/<name>/1/model.onnx (logits and calibrated probabilities), labels.txt and preprocess.json. ${DISCLAIMER}`)
    .requiredOption('--run <dir>', 'run directory written by medclass train')
    .requiredOption('--triton <dir>', 'Triton model repository folder (created if missing; the model folder inside is overwritten)')
    .option('--name <name>', desc('name'))
    .option('--raw-input', desc('rawInput'))
    .option('--raw-channels <n>', desc('rawChannels'), Number)
    .option('--max-batch-size <n>', desc('maxBatchSize'), Number)
    .option('--json', 'print the result as JSON')
    .action(async (f: { run: string; triton: string; name?: string; rawInput?: boolean; rawChannels?: number; maxBatchSize?: number; json?: boolean }) => {
      const pick = Object.fromEntries(Object.entries({ name: f.name, rawInput: f.rawInput, rawChannels: f.rawChannels, maxBatchSize: f.maxBatchSize }).filter(([, v]) => v !== undefined));
      const parsed = TritonExportOptions.safeParse(pick);
      const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `export: ${parsed.error.issues.map((i) => `${flag(String(i.path[0] ?? ''))}: ${i.message}`).join('; ')}`, { hint: 'medclass export --help' });
      const r = await exportTriton(f.run, f.triton, parsed.data);
      out(f.json ? JSON.stringify({ disclaimer: DISCLAIMER, ...r }, null, 2) : formatTritonExport(r));
    });
}
