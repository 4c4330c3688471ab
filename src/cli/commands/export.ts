import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { DISCLAIMER } from '../../eval/index.js';
import { Int8ExportOptions, TritonExportOptions, exportInt8, exportTriton, exportZip, type Int8Export, type TritonExport } from '../../pipeline/index.js';
import { INT8_MODEL } from '../../run/index.js';
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

/** What the int8 export wrote and how the int8 model compares with the float one. */
export function formatInt8Export(r: Int8Export): string {
  const c = r.comparison;
  const f = (v: number | null, d = 4) => (v === null ? 'n/a' : v.toFixed(d));
  return [
    `wrote ${r.model} (${(r.bytes / 1024).toFixed(0)} KiB)`,
    ...(c ? [
      `calibration: ${c.calibration.images} ${c.calibration.split} images (${c.calibration.ranges}${c.bias_corrected_layers ? `, ${c.bias_corrected_layers} biases corrected` : ''}); ${c.quantized_weights} weights ${c.weights}, ${c.quantized_tensors} activations uint8; stem ${c.float_stem ? 'float' : c.stem_space_to_depth ? 'int8 (SpaceToDepth + Conv)' : 'int8'}`,
      `${c.val_top1_agreement !== null ? `val top-1 agreement ${(100 * c.val_top1_agreement).toFixed(2)} %; ` : ''}test (${c.n_test}): top-1 agreement ${(100 * c.top1_agreement).toFixed(2)} %, max |Δp| ${f(c.max_abs_prob_diff)}, AUC ${f(c.float_auc)} → ${f(c.int8_auc)} (drop ${f(c.auc_drop)}); metrics in metrics.int8.json`,
      ...(c.speed ? [`speed on this machine (${c.speed.threads} threads, load ${c.speed.load}): ${c.speed.batches.map((b) => `batch ${b.batch} ${b.float_ms.toFixed(2)} → ${b.int8_ms.toFixed(2)} ms (${b.speedup.toFixed(2)}×)`).join(', ')}${c.speed.batches.some((b) => b.speedup < 1) ? ' — int8 is slower here at some batch size: serve the float model where it is' : ''}`] : []),
    ] : []),
    DISCLAIMER,
  ].join('\n');
}

/** `medclass export --triton DIR --run RUN [--raw-input]`: a Triton model repository entry for a run. */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description(`Export a run for a serving platform. --triton DIR writes DIR/<name>/config.pbtxt (platform onnxruntime_onnx, dynamic batching), DIR/<name>/1/model.onnx (logits and calibrated probabilities), labels.txt and preprocess.json. ${DISCLAIMER}`)
    .requiredOption('--run <dir>', 'run directory written by medclass train')
    .option('--zip <file>', 'write FILE: a zip of model.onnx, preprocess, calibration, metrics, predictions, history, run.json, report.html, model-card.md and figures/ with manifest.json (sha256 of every file)')
    .option('--triton <dir>', 'Triton model repository folder (created if missing; the model folder inside is overwritten)')
    .option('--int8', `write ${INT8_MODEL} into the run: static QDQ quantization (int8 per-channel weights, uint8 activations calibrated on run images, biases corrected on them; a strided stem on few channels runs int8 as SpaceToDepth + Conv, other stems stay float) and its test metrics in metrics.int8.json`)
    .option('--stem <mode>', 'with --int8: the first Conv, auto (int8 as SpaceToDepth + Conv when strided on ≤ 4 channels and that times faster here, else float), float or int8 (default auto)')
    .option('--calibration <split>', 'with --int8: split whose images calibrate the activation ranges, val or train (default val)')
    .option('--images <n>', 'with --int8: calibration images (default 256)', Number)
    .option('--threads <n>', 'with --int8: onnxruntime threads (0 = all cores)', Number)
    .option('--ranges <method>', 'with --int8: activation ranges, percentile (99.999th of |v|) or minmax (default percentile)')
    .option('--reduce-range <mode>', 'with --int8: weights in the 7-bit range (depthwise ones full range, the stem\'s uint8: exact without VNNI too), auto (on where this x86 CPU lacks VNNI, whose int8 kernels saturate), on or off (default auto)')
    .option('--no-bias-correction', 'with --int8: keep the float biases (no empirical bias correction on the calibration images)')
    .option('--name <name>', desc('name'))
    .option('--raw-input', desc('rawInput'))
    .option('--raw-channels <n>', desc('rawChannels'), Number)
    .option('--max-batch-size <n>', desc('maxBatchSize'), Number)
    .option('--json', 'print the result as JSON')
    .action(async (f: { run: string; zip?: string; triton?: string; int8?: boolean; calibration?: string; images?: number; threads?: number; ranges?: string; stem?: string; reduceRange?: string; biasCorrection?: boolean; name?: string; rawInput?: boolean; rawChannels?: number; maxBatchSize?: number; json?: boolean }) => {
      if (f.zip) {
        const z = exportZip(f.run, f.zip);
        out(f.json ? JSON.stringify({ disclaimer: DISCLAIMER, file: z.file, bytes: z.bytes, missing: z.missing, manifest: z.manifest }, null, 2)
          : `wrote ${z.file} (${(z.bytes / 1024).toFixed(0)} KiB): ${z.manifest.files.length} files of the run and manifest.json (size and sha256 of each)${z.missing.length ? `; not in the run: ${z.missing.join(', ')} (medclass report writes the report and figures)` : ''}\n${DISCLAIMER}`);
        if (!f.triton && !f.int8) return;
      }
      if (f.int8) {
        const q = Int8ExportOptions.safeParse(Object.fromEntries(Object.entries({ calibration: f.calibration, images: f.images, threads: f.threads, ranges: f.ranges, stem: f.stem, reduceRange: f.reduceRange, biasCorrection: f.biasCorrection }).filter(([, v]) => v !== undefined)));
        if (!q.success) throw new MedclassError('MC_CLI_BAD_OPTION', `export --int8: ${q.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('; ')}`, { hint: 'medclass export --help' });
        const r = await exportInt8(f.run, q.data);
        out(f.json ? JSON.stringify({ disclaimer: DISCLAIMER, model: r.model, bytes: r.bytes, quantization: r.comparison }, null, 2) : formatInt8Export(r));
        if (!f.triton) return;
      }
      if (!f.triton) throw new MedclassError('MC_CLI_BAD_OPTION', 'export: pass --triton DIR or --int8', { hint: 'medclass export --help' });
      const pick = Object.fromEntries(Object.entries({ name: f.name, rawInput: f.rawInput, rawChannels: f.rawChannels, maxBatchSize: f.maxBatchSize }).filter(([, v]) => v !== undefined));
      const parsed = TritonExportOptions.safeParse(pick);
      const flag = (k: string) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `export: ${parsed.error.issues.map((i) => `${flag(String(i.path[0] ?? ''))}: ${i.message}`).join('; ')}`, { hint: 'medclass export --help' });
      const r = await exportTriton(f.run, f.triton, parsed.data);
      out(f.json ? JSON.stringify({ disclaimer: DISCLAIMER, ...r }, null, 2) : formatTritonExport(r));
    });
}
