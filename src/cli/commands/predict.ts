import type { Command } from 'commander';
import { MedclassError } from '../../errors.js';
import { DISCLAIMER } from '../../eval/index.js';
import { PredictOptions, predictImages, type ImagePrediction, type TabularAttribution } from '../../pipeline/index.js';
import { finishPerFile, table, checkJsonTarget } from '../output.js';
import { addGuardFlags, guardFrom } from './data.js';

/**
 * The predictions as a table: file, label, top probability, calibrated, conformal set and, at an operating point,
 * the decision there; failures with their code.
 */
export function formatPredictions(res: readonly ImagePrediction[]): string {
  const op = res.flatMap((r) => (r.error || !r.decision ? [] : [r.decision]))[0];
  const rows: (string | number)[][] = [['file', 'label', 'probability', 'calibrated', 'conformal set', ...(op ? [`decision at ${op.operatingPoint}`] : [])]];
  for (const r of res) {
    if (r.error) rows.push([r.file, `${r.error.code}`, '', '', '', ...(op ? [''] : [])]);
    else {
      const level = r.conformalLevel !== undefined ? ` (${Math.round(r.conformalLevel * 100)}%)` : '';
      const d = r.decision ? [`${r.decision.label} (p ${r.decision.probability.toFixed(4)} ${r.decision.positive ? '≥' : '<'} ${r.decision.threshold.toFixed(4)})`] : op ? [''] : [];
      rows.push([r.file, r.label, r.probabilities[r.label]!.toFixed(4), r.calibrated ? 'yes' : 'no', r.conformalSet ? `{${r.conformalSet.join(', ')}}${level}` : '', ...d]);
    }
  }
  const lines = [table(rows)];
  if (op) lines.push(`decision: ${op.positiveClass} when its calibrated probability is ≥ ${op.threshold} (threshold chosen on val for ${op.operatingPoint}); label: the arg-max`);
  for (const r of res) if (!r.error && r.uncertainty) lines.push(`${r.file}: entropy ${r.uncertainty.entropy.toFixed(4)}, mutual information ${r.uncertainty.mutualInformation.toFixed(4)} nats (${r.uncertainty.method === 'ensemble' ? `ensemble of ${r.uncertainty.samples}` : `MC-dropout, ${r.uncertainty.samples} passes`})`);
  for (const r of res) if (r.error) lines.push(`${r.file}: ${r.error.code}: ${r.error.message}`);
  for (const r of res) if (!r.error && r.tabularAttribution) lines.push('', formatAttribution(r.file, r.tabularAttribution));
  lines.push('Research software, not a diagnostic device: not for clinical decisions.');
  return lines.join('\n');
}

const signed = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(4)}`;

/** One image's tabular attribution: per column the value and full minus occluded logit and probability, then image only. */
export function formatAttribution(file: string, a: TabularAttribution): string {
  const rows: (string | number)[][] = [['column', 'value', 'Δ logit', 'Δ probability']];
  for (const c of a.columns) rows.push([c.column, c.missing ? `${c.value === null || c.value === '' ? '' : `${String(c.value)} `}(missing)` : String(c.value), signed(c.deltaLogit), signed(c.deltaProbability)]);
  rows.push(['(image only)', 'all missing', signed(a.imageOnly.deltaLogit), signed(a.imageOnly.deltaProbability)]);
  const head = `${file}: tabular attribution for ${a.className} (logit ${a.logit.toFixed(4)}, probability ${a.probability.toFixed(4)}; Δ = with the value − with it missing)`;
  return [head, table(rows)].join('\n');
}

const desc = (key: keyof typeof PredictOptions.shape) => {
  const d = PredictOptions.parse({})[key];
  return `${PredictOptions.shape[key].description}${d === undefined ? '' : ` (default ${JSON.stringify(d)})`}`;
};

/** `age=45,sex=male` → {age: '45', sex: 'male'} (values stay strings; the run's encoder parses numbers). */
export function parseMetaPairs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new MedclassError('MC_CLI_BAD_OPTION', `--meta: '${part}' is not column=value`, { hint: 'e.g. --meta age=45,sex=male,localization=back' });
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** `medclass predict --run DIR image…`: label and (calibrated) probabilities per image. */
export function registerPredict(program: Command): void {
  const cmd = program
    .command('predict')
    .description(`classify images with a trained run directory (model.onnx, preprocess.json, calibration.json); exit code 2 when some files could not be read, 1 when none could. ${DISCLAIMER}`)
    .requiredOption('--run <dir>', 'run directory written by medclass train')
    .argument('<images...>', 'image files (PNG, JPEG, TIFF, BMP, GIF, WebP); @FILE reads them from FILE, one per line')
    .option('--json [file]', 'write the predictions as JSON to a file, or to stdout without a file')
    .option('--no-calibrate', 'plain softmax of the logits (ignore the temperature)')
    .option('--conformal <method>', desc('conformal'))
    .option('--tta', desc('tta'))
    .option('--threads <n>', desc('threads'), Number)
    .option('--meta <pairs>', 'image + tabular runs: the tabular values for the images, column=value pairs (age=45,sex=male,…; an empty value is missing)')
    .option('--attribute', desc('attribute'))
    .option('--operating-point <point>', desc('operatingPoint'));
  addGuardFlags(cmd)
    .action(async (images: string[], o: { run: string; json?: string | boolean; calibrate: boolean; conformal?: string; tta?: boolean; threads?: number; meta?: string; attribute?: boolean; maxPixels?: number; minSide?: number; operatingPoint?: string }) => {
      checkJsonTarget(o.json);
      const parsed = PredictOptions.safeParse({
        ...(o.meta !== undefined ? { meta: parseMetaPairs(o.meta) } : {}),
        calibrate: o.calibrate, ...(o.conformal ? { conformal: o.conformal } : {}), ...(o.tta ? { tta: true } : {}), ...(o.threads !== undefined ? { threads: o.threads } : {}),
        ...(o.attribute ? { attribute: true } : {}), ...(o.operatingPoint !== undefined ? { operatingPoint: o.operatingPoint } : {}),
      });
      if (!parsed.success) throw new MedclassError('MC_CLI_BAD_OPTION', `predict: ${parsed.error.issues.map((i) => `--${String(i.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${i.message}`).join('; ')}`, { hint: 'medclass predict --help' });
      const guard = guardFrom(o);
      const res = await predictImages(o.run, guard ? images.map((f) => ({ name: f, path: f, guard })) : images, parsed.data);
      finishPerFile(res, { disclaimer: DISCLAIMER, predictions: res }, () => formatPredictions(res), o.json);
    });
}
