// `dicomweb watch` on a real Orthanc: instances uploaded while it polls are classified once; a study older than
// --since is left alone; a restart with the same state file posts nothing again; Ctrl-C (SIGINT) stops the CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DicomWebClient } from '../../src/data/index.js';
import { dicomwebWatch, type DicomWebWatchEvent } from '../../src/pacs/index.js';
import { BIN } from '../helpers/cli.js';
import { startOrthanc, type OrthancServer } from '../helpers/orthanc.js';
import { trainTinyRun } from '../pipeline/predict-helpers.js';

const CXR = new URL('../../../shared/data/dicom-samples/cxr-with-fictitious-phi/', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const dcmjs = require('dcmjs');
dcmjs.log.setLevel('silent');

async function until(cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('dicomweb watch', () => {
  let orthanc: OrthancServer;
  let runDir = '';
  let cleanup = () => {};
  const work = mkdtempSync(join(tmpdir(), 'mc-dwwatch-'));
  const state = join(work, 'state.json');
  beforeAll(async () => {
    [orthanc, { runDir, cleanup }] = await Promise.all([startOrthanc(), trainTinyRun('watch')]);
  }, 180_000);
  afterAll(async () => {
    await orthanc?.stop();
    cleanup();
    rmSync(work, { recursive: true, force: true });
  });
  const srCount = async () => ((await (await fetch(`${orthanc.dicomWebUrl}/instances?Modality=SR`)).json()) as unknown[]).length;

  it('classifies what arrives while it polls, once, and only from --since on', async () => {
    const client = new DicomWebClient({ url: orthanc.dicomWebUrl });
    const events: DicomWebWatchEvent[] = [];
    const stop = new AbortController();
    const watching = dicomwebWatch(client, runDir, state, { since: '20240101', intervalMs: 200, threads: 1 }, { signal: stop.signal, onEvent: (e) => events.push(e) });
    await until(() => events.length >= 1);
    expect(events[0]!.summary.found).toBe(0);
    const old = dcmjs.data.DicomMessage.readFile(new Uint8Array(readFileSync(`${CXR}NORMAL/cxr_normal_05.dcm`)).buffer);
    old.dict['00080020'].Value = ['20231231'];
    old.dict['00080018'].Value = ['1.2.826.0.1.3680043.8.498.424242'];
    old.meta['00020003'].Value = ['1.2.826.0.1.3680043.8.498.424242'];
    await client.store([`${CXR}NORMAL/cxr_normal_01.dcm`, `${CXR}PNEUMONIA/cxr_pneumonia_01.dcm`].map((f) => new Uint8Array(readFileSync(f))).concat(new Uint8Array(old.write())));
    await until(() => (events.at(-1)?.totalStored ?? 0) >= 2);
    const polls = events.length;
    await until(() => events.length >= polls + 2); // two more polls find nothing new
    stop.abort();
    const s = await watching;
    expect(s.stored).toBe(2);
    expect(s.failed).toBe(0);
    expect(events.every((e) => e.summary.found <= 2)).toBe(true); // the 2023 study is never found
    expect(await srCount()).toBe(2);
  });

  it('a restart (the CLI, same state file) posts nothing again and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [BIN, 'dicomweb', 'watch', '--url', orthanc.dicomWebUrl, '--run', runDir, '--since', '20240101', '--interval', '1', '--state', state, '--threads', '1'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    await until(() => /poll 2:/.test(stdout));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/poll 1: 2 found, 0 SR\(s\) stored, 0 failed/);
    expect(stdout).toMatch(/stopped after \d+ poll\(s\): 0 SR\(s\) stored, 0 failed/);
    expect(await srCount()).toBe(2);
  });
});
