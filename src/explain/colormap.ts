/** Perceptually uniform colour maps of matplotlib (CC0), sampled at t = 0, 0.1, …, 1 and interpolated linearly. */
export const COLORMAPS = {
  inferno: ['#000004', '#160b39', '#420a68', '#6a176e', '#932667', '#bc3754', '#dd513a', '#f37819', '#fca50a', '#f6d746', '#fcffa4'],
  viridis: ['#440154', '#482475', '#414487', '#355f8d', '#2a788e', '#21918c', '#22a884', '#44bf70', '#7ad151', '#bddf26', '#fde725'],
} as const;

export type ColormapName = keyof typeof COLORMAPS;

const tables = new Map<ColormapName, Uint8Array>();

/** A 256-entry RGB lookup table `[256·3]` of a colour map (entry i is the colour at t = i/255). */
export function colormapTable(name: ColormapName): Uint8Array {
  const cached = tables.get(name);
  if (cached) return cached;
  const anchors = COLORMAPS[name].map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
  const lut = new Uint8Array(256 * 3);
  const last = anchors.length - 1;
  for (let i = 0; i < 256; i++) {
    const f = (i / 255) * last;
    const j = Math.min(Math.floor(f), last - 1);
    const u = f - j;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(anchors[j]![c]! * (1 - u) + anchors[j + 1]![c]! * u);
  }
  tables.set(name, lut);
  return lut;
}
