import sharp from 'sharp';
import { normalizeMap, upsampleBilinear, type Map2d } from './cam-maps.js';
import { colormapTable } from './colormap.js';
import { OverlayOptions, type OverlayOptionsInput } from './options.js';

/** An image as planes `[C,H,W]` of intensities in [0,1] (C = 1 grey or 3 RGB). */
export interface PlanarImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Float32Array;
}

/** An 8-bit RGB raster `[H,W,3]`. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Draws a class activation map over its image: the image is enlarged by an integer factor (nearest neighbour) to at
 * least `minSize` px wide, the map (any resolution, e.g. the raw h×w Grad-CAM) is upsampled bilinearly to the same
 * size and normalised to [0,1], coloured with the colour map and alpha-blended with alpha = opacity·map, so cold
 * regions show the bare image. With `pair`, the plain image comes first, then a 4 px white gap, then the overlay.
 */
export function renderOverlay(image: PlanarImage, map: Map2d, options: OverlayOptionsInput = {}): RgbImage {
  const o = OverlayOptions.parse(options);
  const f = Math.max(1, Math.ceil(o.minSize / image.width));
  const width = image.width * f;
  const height = image.height * f;
  const heat = normalizeMap(upsampleBilinear(map, width, height)).data;
  const lut = colormapTable(o.colormap);
  const plane = image.width * image.height;
  const gap = o.pair ? 4 : 0;
  const total = o.pair ? 2 * width + gap : width;
  const data = new Uint8Array(total * height * 3).fill(255);
  const off = o.pair ? width + gap : 0;
  for (let y = 0; y < height; y++) {
    const sy = Math.floor(y / f);
    for (let x = 0; x < width; x++) {
      const p = sy * image.width + Math.floor(x / f);
      const t = heat[y * width + x]!;
      const a = o.opacity * t;
      const li = Math.round(t * 255) * 3;
      for (let c = 0; c < 3; c++) {
        const v = image.data[(image.channels === 1 ? 0 : c) * plane + p]!;
        const base = Math.min(255, Math.max(0, v * 255));
        data[(y * total + off + x) * 3 + c] = Math.round((1 - a) * base + a * lut[li + c]!);
        if (o.pair) data[(y * total + x) * 3 + c] = Math.round(base);
      }
    }
  }
  return { width: total, height, data };
}

/** PNG bytes of an RGB raster (sharp). */
export async function encodePng(img: RgbImage): Promise<Uint8Array> {
  const buf = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
  return new Uint8Array(buf);
}
