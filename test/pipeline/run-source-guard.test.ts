import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { RunConfig } from '../../src/pipeline/index.js';
import { openRunSource } from '../../src/pipeline/run-source.js';

describe('a run config’s data.guard reaches the source the run opens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mc-run-guard-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('minSide 20 refuses a 16 px image that the default guard accepts', async () => {
    for (const c of ['a', 'b']) {
      mkdirSync(join(dir, c), { recursive: true });
      writeFileSync(join(dir, c, '0.png'), await sharp({ create: { width: 16, height: 16, channels: 3, background: '#808080' } }).png().toBuffer());
    }
    const strict = RunConfig.parse({ data: { source: dir, guard: { minSide: 20 } } });
    const loose = RunConfig.parse({ data: { source: dir } });
    await expect(openRunSource(dir, strict.data).items[0]!.load()).rejects.toMatchObject({ code: 'MC_DATA_IMAGE_TOO_SMALL' });
    await expect(openRunSource(dir, loose.data).items[0]!.load()).resolves.toBeDefined();
  });
});
