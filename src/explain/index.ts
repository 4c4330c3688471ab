// Public surface of the explain layer (CAM / Grad-CAM from the engine's gradients): named re-exports only.
export { buildGradCamGraph, convLayers, defaultCamLayer } from './grad-cam-graph.js';
export { exportCamGraph } from './cam-export.js';
export type { CamExport, CamExportOptions } from './cam-export.js';
export type { GradCamGraph, GradCamGraphOptions } from './grad-cam-graph.js';
export { GradCam } from './grad-cam.js';
export type { CamResult, GradCamBatch, GradCamOptions } from './grad-cam.js';
export { camClassifier, classActivationMap } from './cam.js';
export type { CamClassifier } from './cam.js';
export { gradCamWeights, mapPeak, normalizeMap, upsampleBilinear, weightedMap } from './cam-maps.js';
export type { Map2d } from './cam-maps.js';
export { COLORMAPS, colormapTable } from './colormap.js';
export type { ColormapName } from './colormap.js';
export { encodePng, renderOverlay } from './overlay.js';
export type { PlanarImage, RgbImage } from './overlay.js';
export { OverlayOptions } from './options.js';
export type { OverlayOptionsInput } from './options.js';
export { MAX_EXACT_PLAYERS, coalitionRows, exactShapley, meanAbsShap, meanRow, shapPlayers, shapleyFromCoalitions } from './shap.js';
export type { RowShapley, ShapPlayer } from './shap.js';
