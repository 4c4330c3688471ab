import { describe, expect, it } from 'vitest';
import { openSource, parsePhantomSpec, phantomSource } from '../../src/data/index.js';

describe('lesion phantoms', () => {
  it('parses specs and rejects bad ones', () => {
    expect(parsePhantomSpec('phantom:')).toEqual({ n: 600, size: 64, seed: 0 });
    expect(parsePhantomSpec('phantom:n=100,size=32,seed=9')).toEqual({ n: 100, size: 32, seed: 9 });
    expect(() => parsePhantomSpec('phantom:n=abc')).toThrow(/bad entry/);
  });

  it('is balanced, split 70/15/15 per class, and deterministic by seed', async () => {
    const s = openSource('phantom:n=200,size=32,seed=1');
    expect(s.classes).toEqual(['normal', 'lesion']);
    const n = (split: string, label: string) => s.items.filter((i) => i.split === split && i.label === label).length;
    expect([n('train', 'normal'), n('val', 'normal'), n('test', 'normal'), n('train', 'lesion')]).toEqual([70, 15, 15, 70]);
    const again = phantomSource({ n: 200, size: 32, seed: 1 });
    expect((await again.items[7]!.load()).data).toEqual((await s.items[7]!.load()).data);
    expect(again.items.map((i) => i.split)).toEqual(s.items.map((i) => i.split));
    const other = phantomSource({ n: 200, size: 32, seed: 2 });
    expect((await other.items[7]!.load()).data).not.toEqual((await s.items[7]!.load()).data);
  });

  it('renders the recorded blob: brighter inside the recorded radius than in the ring around it', async () => {
    const s = phantomSource({ n: 60, size: 64, seed: 4 });
    let brighter = 0;
    const lesions = s.items.filter((i) => i.label === 'lesion');
    for (const it of lesions) {
      const { cx, cy, radius } = it.meta as { cx: number; cy: number; radius: number };
      const img = await it.load();
      let inside = 0, ni = 0, ring = 0, nr = 0;
      for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
        const d = Math.hypot(x - cx, y - cy);
        if (d < radius * 0.7) { inside += img.data[y * 64 + x]!; ni++; } else if (d > radius * 2 && d < radius * 3) { ring += img.data[y * 64 + x]!; nr++; }
      }
      if (inside / ni > ring / nr + 10) brighter++;
      expect(cx).toBeGreaterThanOrEqual(8);
      expect(cx).toBeLessThanOrEqual(56);
    }
    expect(brighter).toBeGreaterThanOrEqual(Math.ceil(0.9 * lesions.length)); // a vessel or blotch may cross the ring
    expect(s.items.filter((i) => i.label === 'normal').every((i) => i.meta!.lesion === false && i.meta!.cx === null)).toBe(true);
  });
});
