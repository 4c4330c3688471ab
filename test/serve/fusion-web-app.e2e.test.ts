import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TabularEncoder } from '../../src/data/index.js';
import { predictImages } from '../../src/pipeline/index.js';
import { buildServer } from '../../src/serve/index.js';
import { CHROMIUM, PAGE_TIMEOUT, launchChromium, watchProblems } from '../helpers/browser.js';
import { HAM, trainHamFusion, writeHam300 } from '../pipeline/ham-fusion-helpers.js';
import { removeTempDir } from '../pipeline/predict-helpers.js';

// medclass serve over an image + tabular run (300 HAM10000 images, 2 epochs): /api/model lists the tabular columns,
// and the web app shows a field per column and sends the values with the image.

let out = '';
let runDir = '';
let app: FastifyInstance;
let url = '';

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'medclass-fusion-serve-'));
  runDir = (await trainHamFusion(out, writeHam300(out))).runDir;
  app = buildServer(runDir, { threads: 1 });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  if (out) removeTempDir(out);
});

describe('medclass serve on an image + tabular run', () => {
  it('GET /api/model lists the tabular columns (categorical ones with their training values, as tabular.json)', async () => {
    const m = await (await fetch(`${url}/api/model`)).json() as { tabular: unknown };
    const enc = JSON.parse(readFileSync(join(runDir, 'tabular.json'), 'utf8')) as TabularEncoder;
    expect(m.tabular).toEqual({ columns: [
      { name: 'age', kind: 'numeric' },
      { name: 'sex', kind: 'categorical', values: enc.categorical[0]!.values },
      { name: 'localization', kind: 'categorical', values: enc.categorical[1]!.values },
    ] });
  });

  describe(`web app in ${CHROMIUM} (fails, never skips, when that browser is missing)`, () => {
    let browser: Browser;
    beforeAll(async () => { browser = await launchChromium(); }, 60_000);
    afterAll(async () => { await browser?.close(); });

    it('shows a field per column, predicts with the values entered (= predictImages with the same meta) and tabulates their attribution', async () => {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
      const problems = watchProblems(page);
      await page.goto(`${url}/`);
      await page.waitForSelector('#meta:not([hidden]) #meta-localization', { timeout: PAGE_TIMEOUT });
      expect(await page.locator('#meta-fields label').count()).toBe(3);
      await page.fill('#meta-age', '60');
      await page.selectOption('#meta-sex', 'male');
      await page.selectOption('#meta-localization', 'back');
      const file = `${HAM}images/ISIC_0027419.jpg`;
      await page.setInputFiles('#file', file);
      const [want] = await predictImages(runDir, [file], { meta: { age: '60', sex: 'male', localization: 'back' }, threads: 1, attribute: true });
      if (want!.error || !want!.tabularAttribution) throw new Error('reference prediction failed');
      const expected = `${want!.label} — ${(100 * want!.probabilities[want!.label]!).toFixed(1)} %`;
      await page.locator('#prediction').filter({ hasText: expected }).waitFor({ timeout: PAGE_TIMEOUT });
      // under the result, the tabular attribution of the predicted class: a row per column, then image only
      await page.waitForSelector('#attribution:not([hidden])', { timeout: PAGE_TIMEOUT });
      const a = want!.tabularAttribution;
      const signed = (v: number, f: (x: number) => string) => `${v >= 0 ? '+' : '−'}${f(Math.abs(v))}`;
      const rows = page.locator('#attribution-body tr');
      const cells = await Promise.all((await rows.all()).map((tr) => tr.locator('td').allTextContents()));
      expect(cells).toEqual([
        ...a.columns.map((c) => [c.column, String(c.value), signed(c.deltaLogit, (x) => x.toFixed(3)), signed(c.deltaProbability, (x) => `${(100 * x).toFixed(1)} %`)]),
        ['(image only)', 'all missing', signed(a.imageOnly.deltaLogit, (x) => x.toFixed(3)), signed(a.imageOnly.deltaProbability, (x) => `${(100 * x).toFixed(1)} %`)],
      ]);
      expect(await page.textContent('#attribution-note')).toContain(`Δ = ${a.className} with the value − with that value missing`);
      // Grad-CAM also gets the values (the overlay appears), and the similar-case note says there is no index
      await page.waitForSelector('#overlay:not([hidden])', { timeout: PAGE_TIMEOUT });
      expect(await page.getAttribute('#overlay', 'src')).toMatch(/^data:image\/png;base64,/);
      await expect.poll(() => page.textContent('#similar-note'), { timeout: PAGE_TIMEOUT }).toMatch(/No similar-case index/);
      expect(await page.isHidden('#predict-error')).toBe(true);
      expect(await page.isHidden('#explain-error')).toBe(true);
      expect(problems).toEqual([]);
    });
  });
});
