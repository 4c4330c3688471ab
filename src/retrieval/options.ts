import { z } from 'zod';

/** The k-NN classifier head on embeddings (`knnPredict`, `medclass index`). */
export const KnnHeadOptions = z.strictObject({
  k: z.number().int().min(1).default(10).describe('training cases that vote for each image'),
  weights: z.enum(['distance', 'uniform']).default('distance')
    .describe("vote weight: 'distance' = 1/(1 − cosine similarity), an exact match taking every vote (scikit-learn weights='distance'); 'uniform' = one vote each"),
});
export type KnnHeadOptions = z.output<typeof KnnHeadOptions>;
export type KnnHeadOptionsInput = z.input<typeof KnnHeadOptions>;

/** The UMAP 2-D map of embeddings (`umap2d`, `medclass index`). */
export const UmapOptions = z.strictObject({
  nNeighbors: z.number().int().min(2).default(15).describe('neighbours of the fuzzy graph (exact cosine k-NN, the point itself included); capped at n − 1'),
  minDist: z.number().min(0).default(0.1).describe('how tightly points may pack in the map'),
  spread: z.number().gt(0).default(1).describe('scale of the embedded points'),
  nEpochs: z.number().int().min(0).default(0).describe('optimisation epochs (0 = umap-js default: 500 up to 2,500 points, fewer above)'),
  maxPoints: z.number().int().min(3).default(5000).describe('map at most this many training cases (a seeded, class-stratified sample beyond)'),
});
export type UmapOptions = z.output<typeof UmapOptions>;
export type UmapOptionsInput = z.input<typeof UmapOptions>;
