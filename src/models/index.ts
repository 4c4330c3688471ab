// Public surface of the models layer: named re-exports only.
export { createModel, vitPatchSize } from './registry.js';
export { BUILTIN_MODELS, BackboneOptions, BuiltinModelOptions, HeadOptions, HeadSpec, resolveHead } from './options.js';
export type { BackboneOptionsInput, BuiltinModelName, BuiltinModelOptionsInput } from './options.js';
export { compactCnn } from './compact-cnn.js';
export type { CompactCnnConfig } from './compact-cnn.js';
export { resnet } from './resnet.js';
export { compactResnet, compactResnetWidths } from './compact-resnet.js';
export type { CompactResnetConfig } from './compact-resnet.js';
export type { ResNetConfig } from './resnet.js';
export { vit } from './vit.js';
export type { VitConfig } from './vit.js';
export { attachHead, createBackbone, cutBeforeLastConvs, sumInputChannels, trunkPrefix } from './backbone.js';
export { selectTrainable } from './trainable.js';
export { TABULAR_INPUT, fuseTabular } from './fusion.js';
export { inspectBackbone } from './backbone-inspect.js';
export type { BackboneInspection, BlockCut, CutCandidate, WeightLayer } from './backbone-inspect.js';
export { BackboneSidecar, readBackboneSidecar, sidecarPath } from './backbone-sidecar.js';
