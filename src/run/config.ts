import { z } from 'zod';
import { PreprocessOptions, SplitOptions, CsvOptions, DicomMetaTagList, GroupPattern, ImageGuardOptions } from '../data/index.js';
import { BinnedColumn, TabularOptions } from '../data/index.js';
import { FitOptions } from '../train/index.js';
import { HeadSpec } from '../models/index.js';
import { OPERATING_POINT_PATTERN } from '../eval/index.js';
import { BUILTIN_MODELS } from '../models/index.js';

/** A run's split options: the data layer's, but the split seed defaults to the run seed. */
export const RunSplitOptions = SplitOptions.extend({
  seed: z.number().int().optional()
    .describe('split seed (default: the run seed); set it to keep one split while --seed varies init, sampling and augmentation, e.g. for a seed ensemble on a source without its own split'),
});

/** Where the images come from and how they become tensors. */
export const DataConfig = z.strictObject({
  source: z.string().describe('image folder, MedMNIST .npz, CSV manifest, or phantom:[n=..,size=..]'),
  csv: CsvOptions.optional().describe('CSV column mapping (pathCol, labelCol, groupCol, pathTemplate, …)'),
  groupPattern: GroupPattern.optional(),
  guard: ImageGuardOptions.optional().describe('pixel limit (read from the header before decoding) and minimum side of every image file (defaults when absent)'),
  dicomMeta: DicomMetaTagList,
  preprocess: PreprocessOptions.default(PreprocessOptions.parse({})).describe('size, channels, fit, normalize'),
  split: RunSplitOptions.default(RunSplitOptions.parse({})).describe('keep the source split, or re-split (seeded)'),
  tabular: TabularOptions.optional().describe('image + tabular fusion: metadata columns encoded (fitted on train) into the second model input `tab`'),
  binned: z.array(BinnedColumn).default([]).describe('metadata columns binned into labelled ranges (e.g. age_band from age), for subgroups'),
});

/** Which network: a built-in architecture or an imported ONNX backbone with a head. */
export const ModelConfig = z.strictObject({
  arch: z.string().superRefine((v, ctx) => {
    if (v !== 'backbone' && !(BUILTIN_MODELS as readonly string[]).includes(v)) {
      ctx.addIssue({ code: 'custom', message: `unknown arch '${v}'; built-in: ${BUILTIN_MODELS.join(', ')}; for any other architecture export it to ONNX (tools/export-backbone.py) and set arch: backbone with backbone: <file.onnx> (docs/backbones.md)` });
    }
  }).default('compact-cnn').describe("built-in: compact-cnn, resnet18-28, resnet18, vit-small; or 'backbone'"),
  width: z.number().positive().default(1).describe('channel-width multiplier of built-in nets'),
  dropout: z.number().min(0).lt(1).default(0).describe('dropout before the classifier'),
  backbone: z.string().optional().describe("ONNX file when arch is 'backbone'"),
  featureTensor: z.string().optional().describe('backbone tensor to cut at (e.g. features)'),
  head: HeadSpec.default('linear').describe("classifier head on a backbone: 'linear', 'mlp' (256 hidden), or { hidden: [512, 128], dropout: 0.5 }"),
});

/** A whole training run, as read from `--config run.yaml` (flags override single fields). */
export const RunConfig = z.strictObject({
  name: z.string().default('run').describe('run name (used for the run directory)'),
  seed: z.number().int().default(0).describe('one seed drives splits (unless data.split.seed is set), init, sampling, augmentation, dropout, bootstrap'),
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads (0 = all cores)'),
  out: z.string().default('runs').describe('parent folder of run directories'),
  data: DataConfig.describe('where the images come from and how they become tensors'),
  model: ModelConfig.default(ModelConfig.parse({})).describe('which network: a built-in architecture or an ONNX backbone with a head'),
  fit: FitOptions.default(FitOptions.parse({})).describe('optimiser, schedule, imbalance, augmentation, phases, stopping'),
  eval: z.strictObject({
    bootstrap: z.number().int().min(0).default(1000).describe('bootstrap resamples for 95% CIs (0 = none)'),
    alpha: z.number().gt(0).lt(1).default(0.1).describe('conformal miscoverage α'),
    targetSensitivity: z.number().gt(0).max(1).default(0.9).describe('operating point: threshold reaching this sensitivity on val'),
    phaseMetrics: z.boolean().default(false).describe('also evaluate val/test after each phase (summary.json phases)'),
    subgroups: z.array(z.string()).default([]).describe('metadata columns (binned ones included) to report test metrics per value of (metrics.json subgroups)'),
    operatingPoint: z.string().regex(OPERATING_POINT_PATTERN, "expected sensitivity:<target>, specificity:<target> (a target in (0, 1]) or youden").optional()
      .describe('two-class runs: the operating point predict, serve and the web app decide at (threshold chosen on val), e.g. sensitivity:0.95; its target replaces targetSensitivity / targetSpecificity in the report'),
  }).default({ bootstrap: 1000, alpha: 0.1, targetSensitivity: 0.9, phaseMetrics: false, subgroups: [] })
    .describe('evaluation on val and test: confidence intervals, conformal α, operating point, subgroups'),
});
export type RunConfig = z.output<typeof RunConfig>;
export type RunConfigInput = z.input<typeof RunConfig>;

/** The seed a run's splits (and k-fold folds) are drawn with: `data.split.seed`, else the run seed. */
export function splitSeed(cfg: Pick<RunConfig, 'seed' | 'data'>): number {
  return cfg.data.split.seed ?? cfg.seed;
}

/** The data layer's split options of a run: `data.split` with its seed resolved by `splitSeed`. */
export function splitOptionsOf(cfg: Pick<RunConfig, 'seed' | 'data'>): SplitOptions {
  return SplitOptions.parse({ ...cfg.data.split, seed: splitSeed(cfg) });
}

/** Config fields that may differ between a run and its resumption (where it runs, not what it computes). */
const RESUME_FREE = new Set(['threads', 'out', 'name']);

/** Dotted paths where two resolved run configs differ, leaving out `threads`, `out` and `name`. */
export function configDifferences(a: RunConfig, b: RunConfig): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string[]) => {
    if (path.length === 1 && RESUME_FREE.has(path[0]!)) return;
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x) && !Array.isArray(y)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k], [...path, k]);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) out.push(path.join('.'));
  };
  walk(a, b, []);
  return out;
}

/** Levenshtein distance (insertions, deletions, substitutions), for "did you mean". */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

/** The keys a strict object of the run config accepts at `path` (unwrapping defaults, optionals and arrays), or []. */
function keysAt(path: readonly PropertyKey[]): string[] {
  let s: any = RunConfig;
  const unwrap = () => { while (s && typeof s.unwrap === 'function' && !s.shape) s = s.unwrap(); };
  unwrap();
  for (const p of path) {
    if (typeof p === 'number') continue; // arrays were unwrapped to their element
    s = s?.shape?.[p];
    unwrap();
  }
  return s?.shape ? Object.keys(s.shape) : [];
}

/** The closest valid key to a mistyped one (distance ≤ max(2, ⌊length/3⌋)), or undefined. */
export function closestKey(key: string, valid: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const v of valid) {
    const dist = editDistance(key, v);
    if (dist < bestD) { best = v; bestD = dist; }
  }
  return best;
}

/**
 * One line per issue of a run config that failed `RunConfig` (`path: message`); an unrecognised key names its
 * closest valid key at that level (`fit.lerningRate: unknown key — did you mean lr?`), as mistyped CLI flags do.
 */
export function describeConfigIssues(error: z.ZodError): string[] {
  return error.issues.flatMap((i) => {
    const at = i.path.map(String).join('.');
    if (i.code !== 'unrecognized_keys') return [`${at || '(root)'}: ${i.message}`];
    const valid = keysAt(i.path);
    return i.keys.map((k) => {
      const near = closestKey(k, valid);
      return `${at ? `${at}.` : ''}${k}: unknown key${near ? ` — did you mean ${near}?` : valid.length ? ` (valid here: ${valid.join(', ')})` : ''}`;
    });
  });
}
