import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { MedclassError } from '../errors.js';

/** The preprocessing sidecar `tools/export-backbone.py` writes beside a backbone (`<name>.preprocess.json`). */
export const BackboneSidecar = z.looseObject({
  size: z.number().int().positive().describe('square input side the model was exported at'),
  channels: z.union([z.literal(1), z.literal(3)]).describe('channels the model expects'),
  fit: z.enum(['letterbox', 'squash']).default('squash'),
  normalize: z.enum(['imagenet', 'half', 'none']).nullable().describe("medclass's data.preprocess.normalize preset, or null when the mean/std has none"),
  mean: z.array(z.number()).length(3),
  std: z.array(z.number()).length(3),
  model: z.string().optional(),
  source: z.string().optional(),
  weights: z.string().optional(),
  features_note: z.string().optional(),
});
export type BackboneSidecar = z.output<typeof BackboneSidecar>;

/** Path of the sidecar of an ONNX backbone: `x.onnx` → `x.preprocess.json`. */
export function sidecarPath(onnxFile: string): string {
  return `${onnxFile.replace(/\.onnx$/, '')}.preprocess.json`;
}

/** Reads and validates a backbone's preprocessing sidecar; undefined when there is none. */
export function readBackboneSidecar(onnxFile: string): BackboneSidecar | undefined {
  const file = sidecarPath(onnxFile);
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new MedclassError('MC_MODELS_BAD_BACKBONE', `${file}: not JSON (${String(cause)})`, { file, cause });
  }
  const r = BackboneSidecar.safeParse(raw);
  if (!r.success) {
    const why = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new MedclassError('MC_MODELS_BAD_BACKBONE', `${file}: not a backbone preprocessing sidecar (${why})`, { file, hint: 'written by tools/export-backbone.py' });
  }
  return r.data;
}
