// The Orthanc test harness itself: a real Orthanc on 127.0.0.1 with the DICOMweb plugin, stopped in teardown.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrthanc, type OrthancServer } from '../helpers/orthanc.js';

describe('Orthanc harness', () => {
  let open: OrthancServer;
  let locked: OrthancServer;
  beforeAll(async () => {
    [open, locked] = await Promise.all([startOrthanc(), startOrthanc({ users: { alice: 'harness-pw-4711' } })]);
  });
  afterAll(async () => {
    await Promise.all([open?.stop(), locked?.stop()]);
  });

  it('answers on 127.0.0.1 with the DICOMweb plugin loaded (QIDO-RS on an empty archive)', async () => {
    expect(open.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const plugins = await (await fetch(`${open.url}/plugins`)).json();
    expect(plugins).toContain('dicom-web');
    const r = await fetch(`${open.dicomWebUrl}/studies`, { headers: { accept: 'application/dicom+json' } });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual([]);
  });

  it('with users: 401 without credentials, 200 with them', async () => {
    expect((await fetch(`${locked.url}/system`)).status).toBe(401);
    const auth = `Basic ${Buffer.from('alice:harness-pw-4711').toString('base64')}`;
    expect((await fetch(`${locked.url}/system`, { headers: { authorization: auth } })).status).toBe(200);
  });

  it('stop() ends the process and removes its folder', async () => {
    const s = await startOrthanc();
    await s.stop();
    expect(existsSync(s.dir)).toBe(false);
    await expect(fetch(`${s.url}/system`)).rejects.toThrow();
  });
});
