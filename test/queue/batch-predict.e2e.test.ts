// Batch predict on a real redis-server with spawned `medclass worker` processes (1 thread each) over 60 Kermany
// chest X-rays + 1 corrupt JPEG, against in-process batch predict and `predictImages` (the predict command's code).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictImages } from '../../src/pipeline/index.js';
import { QUEUE_NAME, batchPredict, chunkJob, chunkJobId, claimPartsDir, parseQueueUrl, planBatch } from '../../src/queue/index.js';
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
const LOCK = ['--lock-ms', '6000']; // a dead worker's job is taken over after 6–9 s; shorter locks were lost to CPU starvation under the full suite (a live worker's job restarted)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  return readdirSync(dir).filter((f) => /^chunk-\d+\.json$/.test(f)).sort().map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { jobId: string }).jobId);
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
    workers.push(await spawnWorker(redis.url, 'wA', LOCK), await spawnWorker(redis.url, 'wB', LOCK));
    const r = await runCli(['batch', 'predict', '--run', run.runDir, '--queue', redis.url, '--chunk-size', CHUNK, '--out', out('two'), data.dir]);
    expect(r.code, r.stderr).toBe(2); // one unreadable input
    const two = readBatchCsv(out('two'));
    expect(two.ids).toEqual(reference.ids);
    expect(maxProbDiff(two, reference)).toBeLessThanOrEqual(1e-6);
    expect(r.stdout).toMatch(/workers wA, wB/);
  });

  it('kill -9 of a worker holding a job: the job is retried by the other, every input exactly once', async () => {
    const [wA, wB] = workers;
    const q = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url) });
    const batch = batchPredict({ run: run.runDir, sources: [data.dir], out: out('kill'), queue: redis.url, chunkSize: 2, pollMs: 50 });
    let busy: string | undefined;
    for (let t = 0; t < 2000 && !busy; t++) {
      busy = (await q.getJobs(['active'])).find((j) => j.processedBy === 'wA')?.id;
      if (!busy) await sleep(5);
    }
    await killChild(wA!.proc, 'SIGKILL');
    // wA may have moved on to another chunk between the look and the kill: the job it died holding is the one still
    // active under its name (none if it had just finished one) — a dead worker's job stays active until it stalls
    const held = (await q.getJobs(['active'])).filter((j) => j.processedBy === 'wA').map((j) => j.id!);
    expect(held.length).toBeLessThanOrEqual(1);
    const victim = held[0];
    const s = await batch;
    await q.close();
    const got = readBatchCsv(out('kill'));
    expect(got.ids).toEqual(reference.ids); // each once, in input order
    expect(maxProbDiff(got, reference)).toBeLessThanOrEqual(1e-6);
    expect(s.workers).toContain('wB');
    expect(busy).toBeDefined();
    // wA may die after writing its chunk's file and before BullMQ marks that job done: the batch is complete (the
    // files are the truth) while the job stays active under the dead worker until it stalls (6–9 s) and wB reruns it
    const ids = jobIdsOf(out('kill'));
    let records = await jobRecords(redis.url, ids);
    for (let t = 0; t < 300 && records.some((r) => r.state !== 'completed' && r.state !== 'failed'); t++) {
      await sleep(100);
      records = await jobRecords(redis.url, ids);
    }
    expect(records.filter((r) => r.state !== 'completed')).toEqual([]);
    // the job wA held when it died was started again (stalled → retried) unless wA had just finished it
    const retried = records.filter((r) => r.started > 1);
    expect(retried.map((r) => r.id)).toEqual(victim ? [victim] : []);
    expect(wB!.proc.exitCode).toBeNull();
  });

  it('coordinator killed and restarted: finished chunks are kept, no chunk is done twice', async () => {
    const wB = workers[1]!;
    const first = spawnCli(['batch', 'predict', '--run', run.runDir, '--queue', redis.url, '--chunk-size', '2', '--out', out('restart'), data.dir]);
    const parts = `${out('restart')}.parts`;
    const count = () => { try { return readdirSync(parts).filter((f) => /^chunk-\d+\.json$/.test(f)).length; } catch { return 0; } };
    while (count() < 3) await sleep(5);
    await killChild(wB.proc, 'SIGTERM'); // finishes its current chunk, then stops: the rest stay queued
    await killChild(first.proc, 'SIGKILL');
    const before = count();
    expect(before).toBeLessThan(31);
    const wC = await spawnWorker(redis.url, 'wC', LOCK);
    workers.push(wC);
    const again = await runCli(['batch', 'predict', '--run', run.runDir, '--queue', redis.url, '--chunk-size', '2', '--out', out('restart'), data.dir]);
    expect(again.code, again.stderr).toBe(2);
    const reused = Number(/(\d+) reused/.exec(again.stdout)?.[1]);
    expect(reused).toBeGreaterThanOrEqual(before); // wC may finish queued chunks before the new coordinator looks
    const got = readBatchCsv(out('restart'));
    expect(got.ids).toEqual(reference.ids);
    expect(maxProbDiff(got, reference)).toBeLessThanOrEqual(1e-6);
    const records = await jobRecords(redis.url, jobIdsOf(out('restart')));
    expect(records).toHaveLength(31);
    expect(records.filter((r) => r.started !== 1)).toEqual([]); // every chunk job started exactly once
    const done = [wB.log(), wC.log()].join('').split('\n').filter((l) => /predict-\S+: \d+ rows/.test(l) && l.includes(records[0]!.id.split('-')[1]!));
    expect(done).toHaveLength(31);
  });

  it('a wrong queue URL is a clear MC_QUEUE_* error', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const b = await runCli(['batch', 'predict', '--run', run.runDir, '--queue', dead, '--out', out('dead'), data.dir]);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain('MC_QUEUE_UNREACHABLE');
    expect(b.stderr).toContain(dead);
    const u = await runCli(['batch', 'predict', '--run', run.runDir, '--queue', 'http://127.0.0.1:6379', '--out', out('bad'), data.dir]);
    expect(u.stderr).toContain('MC_QUEUE_BAD_URL');
    const w = await runCli(['worker', '--queue', dead]);
    expect(w.code).toBe(1);
    expect(w.stderr).toContain('MC_QUEUE_UNREACHABLE');
  });

  it('a job from another medclass version is refused with the reason; the rerun does it and loses no row', async () => {
    const plan = planBatch(run.runDir, [data.dir], out('version'), { calibrate: true, conformal: 'lac', batchSize: 32 }, 16);
    claimPartsDir(plan);
    const q = new Queue(QUEUE_NAME, { connection: parseQueueUrl(redis.url) });
    await q.pause(); // so the coordinator finds them waiting (a failed job left from an earlier run is queued afresh)
    await q.add('predict-chunk', { ...chunkJob(plan, 1), medclass: '0.0.0-other' }, { jobId: chunkJobId(plan, 1), attempts: 3 });
    await q.add('predict-chunk', { ...chunkJob(plan, 2), runHash: 'f'.repeat(64) }, { jobId: chunkJobId(plan, 2), attempts: 3 });
    const opts = { run: run.runDir, sources: [data.dir], out: out('version'), queue: redis.url, chunkSize: 16, pollMs: 50 };
    const failed = await batchPredict(opts, (e) => { if (e.type === 'stage' && e.stage === 'queued') void q.resume(); }).catch((e: unknown) => e as Error & { code: string });
    await q.close();
    expect((failed as { code: string }).code).toBe('MC_QUEUE_JOB_FAILED');
    expect((failed as Error).message).toMatch(/MC_QUEUE_(VERSION|RUN)_MISMATCH: worker wC/);
    const records = await jobRecords(redis.url, [chunkJobId(plan, 1), chunkJobId(plan, 2)]);
    expect(records.map((r) => r.state)).toEqual(['failed', 'failed']); // refused once, not retried
    const s = await batchPredict(opts);
    expect(s.inputs).toBe(61);
    expect(readBatchCsv(out('version')).ids).toEqual(reference.ids);
  });

  it('Redis going away mid-batch (stopped, started empty): the coordinator queues the lost chunks again, no row lost or doubled', async () => {
    await killChild(workers.at(-1)!.proc, 'SIGTERM'); // no worker: the chunks wait in Redis when it goes away
    const events: string[] = [];
    let queued!: () => void;
    const isQueued = new Promise<void>((r) => { queued = r; });
    const batch = batchPredict({ run: run.runDir, sources: [data.dir], out: out('outage'), queue: redis.url, chunkSize: 2, pollMs: 50 }, (e) => {
      if (e.type === 'stage') events.push(e.stage);
      if (e.type === 'stage' && e.stage === 'queued') queued();
    });
    await isQueued;
    await redis.kill();
    await sleep(2500);
    await redis.restart();
    workers.push(await spawnWorker(redis.url, 'wD', LOCK));
    const s = await batch;
    expect(s.inputs).toBe(61);
    expect(s.workers).toEqual(['wD']);
    const got = readBatchCsv(out('outage'));
    expect(got.ids).toEqual(reference.ids);
    expect(maxProbDiff(got, reference)).toBeLessThanOrEqual(1e-6);
    expect(events).toContain('requeued');
  });
});
