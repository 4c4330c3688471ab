import { basename } from 'node:path';
import { z } from 'zod';
import { decodeBytes, mapLimit, parseDicom, type DicomWebClient, type DicomWebInstance } from '../data/index.js';
import { RunModel, decodeInputs, explainTensors, modelSha256, openExplainer, predictWith, versions, type RunExplainer } from '../pipeline/index.js';
import { MedclassError, isMedclassError, type ErrorCode } from '../errors.js';
import { buildGradCamSc } from './sc.js';
import { buildClassificationSr } from './sr.js';
import { ProcessedState } from './state.js';

/** Options of `dicomwebPredict` (and `medclass dicomweb predict`). */
export const DicomWebPredictOptions = z.strictObject({
  study: z.string().min(1).optional().describe('only this StudyInstanceUID'),
  series: z.string().min(1).optional().describe('only this SeriesInstanceUID'),
  query: z.record(z.string(), z.string()).default({}).describe("QIDO-RS matching keys, e.g. {Modality: 'CR', StudyDate: '20240101-'}"),
  batchSize: z.number().int().min(1).default(16).describe('instances retrieved, classified and stored (one STOW-RS request) per batch'),
  concurrency: z.number().int().min(1).default(4).describe('WADO-RS retrievals at once'),
  threads: z.number().int().min(0).default(0).describe('onnxruntime threads (0 = all cores)'),
  gradCam: z.boolean().default(false).describe('also store the Grad-CAM overlay of the predicted class as a Secondary Capture in the same study'),
});
export type DicomWebPredictOptions = z.output<typeof DicomWebPredictOptions>;
export type DicomWebPredictOptionsInput = z.input<typeof DicomWebPredictOptions>;

/** One classified and stored instance. */
export interface DicomWebPredictResult {
  readonly sopInstanceUid: string;
  readonly srInstanceUid: string;
  /** the Grad-CAM Secondary Capture stored with it (with `gradCam`) */
  readonly scInstanceUid?: string;
  readonly label: string;
  readonly probabilities: Record<string, number>;
}

/** What a `dicomwebPredict` run did; per-instance failures carry a code and a message without UIDs (`index` = position in the search). */
export interface DicomWebPredictSummary {
  readonly found: number;
  /** already in the state file for this model */
  readonly skipped: number;
  readonly stored: DicomWebPredictResult[];
  readonly failed: { index: number; sopInstanceUid: string; code: ErrorCode; message: string }[];
  readonly seconds: number;
}

/** Progress: after the search, and after each batch. */
export type DicomWebPredictEvent =
  | { type: 'found'; found: number; pending: number }
  | { type: 'batch-done'; done: number; pending: number; stored: number; failed: number };

const SR_CLASS_PREFIX = '1.2.840.10008.5.1.4.1.1.88.';

/** The run's model opened once, with its name and fingerprint, for one or many DICOMweb passes (`dicomwebWatch`). */
export class DicomWebPredictor {
  private explainer?: Promise<RunExplainer>;

  private constructor(private readonly run: RunModel, readonly model: { name: string; fingerprint: string; medclassVersion: string },
    private readonly runDir: string, private readonly threads: number) {}

  /** Opens `runDir` (one onnxruntime session, and the Grad-CAM ones on first use; dispose it when done). */
  static async open(runDir: string, opts: { threads?: number } = {}): Promise<DicomWebPredictor> {
    const model = { name: basename(runDir), fingerprint: modelSha256(runDir), medclassVersion: versions().medclass ?? 'unknown' };
    return new DicomWebPredictor(await RunModel.open(runDir, opts), model, runDir, opts.threads ?? 0);
  }

  /** Releases the onnxruntime sessions (the model's and, if opened, the Grad-CAM ones). */
  async dispose(): Promise<void> {
    await this.run.dispose();
    if (this.explainer) await (await this.explainer.catch(() => undefined))?.dispose();
  }

  /** Grad-CAM overlays of the predicted class for Part 10 instances, as Secondary Captures (undefined where one failed). */
  private async gradCams(items: { name: string; bytes: Uint8Array; source: Record<string, unknown> }[], concurrency: number): Promise<(Uint8Array | undefined)[]> {
    this.explainer ??= openExplainer(this.runDir, { threads: this.threads || 1 });
    const ex = await this.explainer;
    const { ok, x } = await decodeInputs(items.map(({ name, bytes }) => ({ name, bytes })), ex.model.preprocessOptions, concurrency);
    const res = ok.length ? await explainTensors(ex, x, ok.length, -1) : [];
    const out: (Uint8Array | undefined)[] = items.map(() => undefined);
    for (let j = 0; j < ok.length; j++) {
      const r = res[j]!;
      const image = await decodeBytes(r.png, 'Grad-CAM overlay');
      out[ok[j]!] = buildGradCamSc({ source: items[ok[j]!]!.source, model: this.model, image, explained: ex.model.classes[r.explainedIndex]!, now: new Date() }).bytes;
    }
    return out;
  }

  /**
   * One pass: QIDO-RS search, then for the instances not in `state`: WADO-RS, classify, one SR each by STOW-RS,
   * recorded in `state` (saved after each batch). Failures are collected per instance.
   */
  async pass(client: DicomWebClient, state: ProcessedState, options: DicomWebPredictOptionsInput = {}, onEvent?: (e: DicomWebPredictEvent) => void): Promise<DicomWebPredictSummary> {
    const o = DicomWebPredictOptions.parse(options);
    const started = performance.now();
    const { run, model } = this;
    const { fingerprint } = model;
    const found = (await client.searchInstances(o.query, { ...(o.study ? { study: o.study } : {}), ...(o.series ? { series: o.series } : {}) }))
      .filter((i) => i.modality !== 'SR' && !i.sopClassUid.startsWith(SR_CLASS_PREFIX));
    const indexed = found.map((inst, index) => ({ inst, index }));
    const pending = indexed.filter(({ inst }) => !state.has(fingerprint, inst.sopInstanceUid));
    onEvent?.({ type: 'found', found: found.length, pending: pending.length });
    const stored: DicomWebPredictResult[] = [];
    const failed: DicomWebPredictSummary['failed'] = [];
    const fail = (index: number, inst: DicomWebInstance, e: unknown) => {
      if (!isMedclassError(e)) throw e;
      failed.push({ index, sopInstanceUid: inst.sopInstanceUid, code: e.code, message: e.message.startsWith(`instance ${index}:`) ? e.message : `instance ${index}: ${e.message}` });
    };
    for (let s = 0; s < pending.length; s += o.batchSize) {
      const batch = pending.slice(s, s + o.batchSize);
      const got = await mapLimit(batch, o.concurrency, async ({ inst, index }) => {
        try {
          return { inst, index, bytes: await client.retrieveInstance(inst) };
        } catch (e) {
          fail(index, inst, e);
          return undefined;
        }
      });
      const ok = got.filter((g): g is NonNullable<typeof g> => g !== undefined);
      const preds = ok.length ? await predictWith(run, ok.map((g) => ({ name: `instance ${g.index}`, bytes: g.bytes })), { threads: o.threads }) : [];
      const srs: { sr: ReturnType<typeof buildClassificationSr>; result: DicomWebPredictResult; g: (typeof ok)[number]; source: Record<string, unknown>; sc?: Uint8Array }[] = [];
      ok.forEach((g, j) => {
        const p = preds[j]!;
        try {
          if (p.error) throw new MedclassError(p.error.code, p.error.message);
          const source = parseDicom(g.bytes, `instance ${g.index}`, true).elements;
          const probabilities = run.classes.map((c) => p.probabilities[c]!);
          const sr = buildClassificationSr({ source, model, classes: run.classes, probabilities, label: p.label, temperature: p.calibrated ? run.temperature : null, now: new Date() });
          srs.push({ sr, g, source, result: { sopInstanceUid: g.inst.sopInstanceUid, srInstanceUid: sr.sopInstanceUid, label: p.label, probabilities: p.probabilities } });
        } catch (e) {
          fail(g.index, g.inst, e);
        }
      });
      if (o.gradCam && srs.length) {
        try {
          const scs = await this.gradCams(srs.map((x) => ({ name: `instance ${x.g.index}`, bytes: x.g.bytes, source: x.source })), o.concurrency);
          srs.forEach((x, j) => { x.sc = scs[j]; });
        } catch (e) {
          for (const x of srs) fail(x.g.index, x.g.inst, e); // the SRs are still stored
        }
      }
      if (srs.length) {
        try {
          const r = await client.store(srs.flatMap((x) => (x.sc ? [x.sr.bytes, x.sc] : [x.sr.bytes])));
          const ok2 = new Set(r.stored);
          const reasons = new Map(r.failed.map((f) => [f.sopInstanceUid, f.reason]));
          for (const x of srs) {
            const scUid = x.sc ? String(parseDicom(x.sc, 'Grad-CAM SC', true).elements.SOPInstanceUID) : undefined;
            if (scUid && !ok2.has(scUid)) fail(x.g.index, x.g.inst, new MedclassError('MC_PACS_STORE_FAILED', 'the server did not store the Grad-CAM secondary capture'));
            if (ok2.has(x.sr.sopInstanceUid)) {
              stored.push(scUid && ok2.has(scUid) ? { ...x.result, scInstanceUid: scUid } : x.result);
              state.add(fingerprint, x.g.inst.sopInstanceUid, new Date());
            } else {
              const reason = reasons.get(x.sr.sopInstanceUid);
              fail(x.g.index, x.g.inst, new MedclassError('MC_PACS_STORE_FAILED', `the server did not store the SR${reason ? ` (failure reason 0x${reason.toString(16).toUpperCase()})` : ''}`));
            }
          }
        } catch (e) {
          for (const x of srs) fail(x.g.index, x.g.inst, e);
        }
        state.save();
      }
      onEvent?.({ type: 'batch-done', done: Math.min(s + o.batchSize, pending.length), pending: pending.length, stored: stored.length, failed: failed.length });
    }
    failed.sort((a, b) => a.index - b.index);
    return { found: found.length, skipped: found.length - pending.length, stored, failed, seconds: (performance.now() - started) / 1000 };
  }
}

/**
 * Finds instances by QIDO-RS, retrieves the new ones by WADO-RS, classifies them with the run (as `medclass predict`
 * does: same preprocessing, calibration and arg-max), and stores one Comprehensive SR per instance by STOW-RS;
 * instances recorded in the state file at `statePath` for this model are skipped, and each stored one is recorded
 * after its batch. Structured reports themselves are never classified. An instance that fails (retrieval, decoding,
 * storage) is reported and the others go on.
 */
export async function dicomwebPredict(client: DicomWebClient, runDir: string, statePath: string, options: DicomWebPredictOptionsInput = {},
  onEvent?: (e: DicomWebPredictEvent) => void): Promise<DicomWebPredictSummary> {
  const o = DicomWebPredictOptions.parse(options);
  const state = ProcessedState.load(statePath);
  const predictor = await DicomWebPredictor.open(runDir, { threads: o.threads });
  try {
    return await predictor.pass(client, state, o, onEvent);
  } finally {
    await predictor.dispose();
  }
}
