import { z } from 'zod';

/** Options of an evaluation (`evaluatePredictions`, `evaluateRun`, `medclass metrics`). The seed comes as an `Rng`. */
export const EvalOptions = z.strictObject({
  alpha: z.number().gt(0).lt(1).default(0.1).describe('conformal miscoverage α: prediction sets aim at ≥ 1 − α coverage'),
  bootstrap: z.number().int().min(0).default(1000).describe('stratified bootstrap resamples for the CIs (0 = no CIs)'),
  ciLevel: z.number().gt(0).lt(1).default(0.95).describe('confidence level of the bootstrap intervals'),
  bins: z.number().int().min(1).default(15).describe('equal-width confidence bins for ECE/MCE and the reliability diagram'),
  targetSensitivity: z.number().gt(0).max(1).default(0.9).describe('operating point: threshold reaching this sensitivity on val'),
  targetSpecificity: z.number().gt(0).max(1).default(0.9).describe('operating point: threshold reaching this specificity on val'),
  mondrian: z.boolean().default(false).describe('also calibrate conformal sets per class (Mondrian, class-conditional coverage)'),
  subgroups: z.array(z.string()).default([]).describe('metadata columns to report metrics per value of (e.g. sex, site)'),
  minGroupSize: z.number().int().min(1).default(30).describe('subgroups with fewer test rows are flagged as small'),
  classNames: z.array(z.string()).optional().describe('display names of the classes, index order'),
});
export type EvalOptions = z.output<typeof EvalOptions>;
export type EvalOptionsInput = z.input<typeof EvalOptions>;
