// Public surface of the retrieval layer (similar-case search and 2-D maps of embeddings): named re-exports only.
export { KnnHeadOptions, UmapOptions } from './options.js';
export type { KnnHeadOptionsInput, UmapOptionsInput } from './options.js';
export { l2Normalize, takeRows } from './vectors.js';
export { exactKnn, exactKnnOrt, knnVote } from './knn.js';
export { KnnCvOptions, knnCrossValidate } from './knn-cv.js';
export type { KnnCvOptionsInput, KnnCvResult, KnnCvScore } from './knn-cv.js';
export type { Neighbors } from './knn.js';
export { EmbeddingIndex, INDEX_FILES } from './embedding-index.js';
export type { IndexItem, IndexManifest, SimilarCase } from './embedding-index.js';
export { Embedder, withEmbeddingOutput } from './embedder.js';
export type { EmbedderOptions, EmbedderResult } from './embedder.js';
export { mapNeighborAccuracy, umap2d } from './umap.js';
