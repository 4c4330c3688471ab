import { z } from 'zod';

/** How a class activation map is drawn over its image (`renderOverlay`, `medclass explain`). */
export const OverlayOptions = z.strictObject({
  colormap: z.enum(['inferno', 'viridis']).default('inferno').describe('perceptually uniform colour map of the heat'),
  opacity: z.number().min(0).max(1).default(0.6).describe('opacity of the heat where the map is 1; it fades linearly to 0 where the map is 0'),
  pair: z.boolean().default(true).describe('put the plain image left of the overlay (the heat hides what lies under it)'),
  minSize: z.number().int().min(1).max(4096).default(256).describe('enlarge small images by an integer factor (nearest neighbour) until they are at least this many pixels wide'),
});
export type OverlayOptions = z.output<typeof OverlayOptions>;
export type OverlayOptionsInput = z.input<typeof OverlayOptions>;
