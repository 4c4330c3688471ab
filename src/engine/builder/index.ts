// The layer builder: write a network once in TypeScript, emit training / eval / inference ONNX graphs.
export type { BnStat, BuildMode, DropoutSpec, ExtraFeeds, InferenceGraphOptions, Network, ParamSpec, Sym, WeightMap } from './types.js';
export { GraphRecorder, featureDims } from './layer-builder.js';
export type { Conv2dOptions, LinearOptions } from './layers.js';
export { LayerBuilder } from './layers.js';
export type { DefineNetworkOptions, NetworkDefinition } from './network.js';
export { bnStatOutputs, defineNetwork, dropoutFeeds, updateRunningStats } from './network.js';
export { cutGraph, importGraph } from './import-graph.js';
