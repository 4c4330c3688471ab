// Public surface of the engine layer: named re-exports only.
export { Rng } from './rng.js';
export type { DType, Tensor, DataFor } from './tensor.js';
export { numel, f32, i64 } from './tensor.js';
export { readNpz, readNpy } from './npz.js';
export type { Attr, Dim, Graph, Node, ValueInfo } from './graph/types.js';
export { attr } from './graph/types.js';
export { Emitter } from './graph/emitter.js';
export { Session } from './runtime/session.js';
export type { SessionOptions, RunTensor, Float64Tensor } from './runtime/session.js';
export { loadModel, saveModel, onnxTypeCode } from './graph/onnx-io.js';
export type { InitSpec } from './init.js';
export { fans, initScale, initTensor } from './init.js';
export type { BnStat, BuildMode, Conv2dOptions, DefineNetworkOptions, DropoutSpec, ExtraFeeds, InferenceGraphOptions, LinearOptions, Network, NetworkDefinition, ParamSpec, Sym, WeightMap } from './builder/index.js';
export { LayerBuilder, bnStatOutputs, defineNetwork, dropoutFeeds, featureDims, updateRunningStats } from './builder/index.js';
