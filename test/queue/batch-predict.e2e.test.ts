// Batch predict on a real redis-server with spawned `medclass worker` processes (1 thread each) over 60 Kermany
// chest X-rays + 1 corrupt JPEG, against in-process batch predict and `predictImages` (the predict command's code).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictImages } from '../../src/pipeline/index.js';
import { QUEUE_NAME, batchPredict, parseQueueUrl } from '../../src/queue/index.js';
import { trainTinyRun, removeTempDir } from '../pipeline/predict-helpers.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { freePort } from '../helpers/orthanc.js';
import { runCli } from '../helpers/cli.js';
import { kermanySubset, killChild, maxProbDiff, readBatchCsv, spawnCli, spawnWorker, type SpawnedWorker } from './queue-helpers.js';

let redis: RedisServer;
let run: Awaited<ReturnType<typeof trainTinyRun>>;
let data: ReturnType<typeof kermanySubset>;
let reference: ReturnType<typeof readBatchCsv>;
const workers: SpawnedWorker[] = [];
const CHUNK = '4'; // 61 inputs → 16 chunks

let outDir: string;
const out = (name: string) => join(outDir, `${name}.csv`);

async function jobRecords(url: string, ids: readonly string[]) {
  const q = new Queue(QUEUE_NAME, { connection: parseQueueUrl(url) });
  try {
    return await Promise.all(ids.map(async (id) => { const j = (await q.getJob(id))!; return { id, state: await j.getState(), started: j.attemptsStarted, stalled: j.stalledCounter, by: j.processedBy }; }));
  } finally {
    await q.close();
  }
}

/** The job ids of a batch, from its chunk result files. */
function jobIdsOf(o: string): string[] {
  const dir = `${o}.parts`;
  return readdirSync(dir).filter((f) => f.startsWith('chunk-')).sort().map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { jobId: string }).jobId);
}

beforeAll(async () => {
  redis = await startRedis();
  run = await trainTinyRun('queue');
  data = kermanySubset(30);
  outDir = mkdtempSync(join(tmpdir(), 'medclass-queue-out-'));
  const s = await batchPredict({ run: run.runDir, sources: [data.dir], out: out('in-process'), chunkSize: Number(CHUNK), threads: 1 });
  expect(s.inputs).toBe(61);
  reference = readBatchCsv(out('in-process'));
}, 120_000);

afterAll(async () => {
  for (const w of workers) await killChild(w.proc);
  await redis?.stop();
  run?.cleanup();
  if (data) removeTempDir(data.dir);
  if (outDir) removeTempDir(outDir);
});

describe('batch predict', () => {
  it('in-process: every input once, probabilities of predict, the corrupt file a row with its code', async () => {
    expect(reference.ids).toHaveLength(61);
    expect(new Set(reference.ids).size).toBe(61);
    expect(reference.header).toEqual(['source', 'id', 'label', 'calibrated', 'prob_normal', 'prob_lesion', 'conformal_set', 'conformal_level', 'error_code', 'error_message']);
    const bad = reference.rows.get('PNEUMONIA/zz-corrupt.jpeg')!;
    expect(bad.error_code).toBe('MC_DATA_UNREADABLE_IMAGE');
    expect(bad.label).toBe('');
    const direct = await predictImages(run.runDir, data.files, { threads: 1 });
    let dp = 0;
    for (const p of direct) {
      const r = reference.rows.get(`${basename(join(p.file, '..'))}/${basename(p.file)}`)!;
      expect(p.error).toBeUndefined();
      if (p.error) continue;
      expect(r.label).toBe(p.label);
      expect(r.conformal_set).toBe(p.conformalSet!.join('|'));
      for (const [c, v] of Object.entries(p.probabilities)) dp = Math.max(dp, Math.abs(Number(r[`prob_${c}`]) - v));
    }
    expect(dp).toBe(0);
  });

  it('2 workers (1 thread each) give the in-process CSV; both took chunks', async () => {
    workers.push(await spawnWorker(redis.url, 'wA'), await spawnWorker(redis.url, 'wB'));
    const r = await runCli(['batch', 'predict', '--run', run.runDir, '--queue', redis.url, '--chunk-size', CHUNK, '--out', out('two'), data.dir]);
    expect(r.code, r.stderr).toBe(2); // one unreadable input
    const two = readBatchCsv(out('two'));
    expect(two.ids).toEqual(reference.ids);
    expect(maxProbDiff(two, reference)).toBeLessThanOrEqual(1e-6);
    expect(r.stdout).toMatch(/workers wA, wB/);
  });
});
