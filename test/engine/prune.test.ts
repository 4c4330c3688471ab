import { describe, expect, it } from 'vitest';
import { ParameterStore, Rng, bindParams, bnStatOutputs, buildTrainingGraph } from '../../src/engine/index.js';
import { pruneDeadNodes } from '../../src/engine/graph/prune.js';
import type { Graph, Node } from '../../src/engine/graph/types.js';
import { createModel } from '../../src/models/index.js';

const node = (opType: string, inputs: string[], outputs: string[]): Node => ({ opType, name: outputs[0]!, domain: '', inputs, outputs, attrs: {} });

describe('pruneDeadNodes', () => {
  it('drops nodes and initializers no output depends on, keeping the order of the rest', () => {
    const graph: Graph = {
      name: 'g', inputs: [{ name: 'x', dtype: 'float32', dims: [2] }], outputs: [{ name: 'y', dtype: 'float32', dims: [2] }],
      initializers: new Map([['w', { dtype: 'float32', dims: [2], data: new Float32Array(2) }], ['unused', { dtype: 'float32', dims: [2], data: new Float32Array(2) }]]),
      nodes: [node('Mul', ['x', 'w'], ['a']), node('Add', ['x', 'unused'], ['dead1']), node('Relu', ['dead1'], ['dead2']), node('Neg', ['a'], ['y'])],
    } as unknown as Graph;
    expect(pruneDeadNodes(graph)).toBe(2);
    expect(graph.nodes.map((n) => n.outputs[0])).toEqual(['a', 'y']);
    expect([...graph.initializers.keys()]).toEqual(['w']);
  });

  it("a training graph keeps no unread node: the ImageNet stem's input gradient is not computed", () => {
    // compact-resnet at 96 px: a 7×7 stride-2 stem and three stages whose first 3×3 conv and 1×1 shortcut have stride 2.
    // Their dX are ConvTransposes; the stem's (with respect to the image) is needed by nothing.
    const net = createModel('compact-resnet', { inChannels: 3, numClasses: 3, inputSize: 96, width: 0.5, rng: new Rng(0) });
    const params = ParameterStore.fromWeights(net.params, net.shapes);
    const { graph } = buildTrainingGraph(bindParams(net.trainGraph(), params), { trainable: params.trainableNames(), loss: { kind: 'cross-entropy' }, keepOutputs: bnStatOutputs(net) });
    expect(graph.nodes.filter((n) => n.opType === 'ConvTranspose')).toHaveLength(6);
    const copy = { ...graph, nodes: [...graph.nodes], initializers: new Map(graph.initializers) };
    expect(pruneDeadNodes(copy)).toBe(0);
  });
});
