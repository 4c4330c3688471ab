// Config typos get "did you mean", like mistyped CLI flags.
import { describe, expect, it } from 'vitest';
import { RunConfig, closestKey, describeConfigIssues } from '../src/run/index.js';

const issues = (raw: unknown) => {
  const r = RunConfig.safeParse(raw);
  if (r.success) throw new Error('expected the config to fail');
  return describeConfigIssues(r.error);
};

describe('describeConfigIssues', () => {
  it.each([
    [{ data: { source: 'phantom:' }, fit: { epoch: 3 } }, 'fit.epoch: unknown key — did you mean epochs?'],
    [{ data: { source: 'phantom:', preprocess: { sise: 32 } } }, 'data.preprocess.sise: unknown key — did you mean size?'],
    [{ sed: 1, data: { source: 'phantom:' } }, 'sed: unknown key — did you mean seed?'],
    [{ data: { source: 'phantom:' }, eval: { operatingPont: 'youden' } }, 'eval.operatingPont: unknown key — did you mean operatingPoint?'],
    [{ data: { source: 'phantom:' }, model: { Arch: 'resnet18' } }, 'model.Arch: unknown key — did you mean arch?'],
  ])('names the closest valid key (%j)', (raw, line) => {
    expect(issues(raw)).toContain(line);
  });

  it('lists the valid keys when none is close, and keeps other issues as path: message', () => {
    const lines = issues({ data: { source: 'phantom:' }, fit: { epochs: -1 }, eval: { zzzzzzzzzz: 1 } });
    expect(lines.some((l) => l.startsWith('fit.epochs: '))).toBe(true);
    expect(lines.find((l) => l.startsWith('eval.zzzzzzzzzz'))).toMatch(/unknown key \(valid here: bootstrap, alpha, .*operatingPoint/);
  });

  it('closestKey refuses far-off names', () => {
    expect(closestKey('batchsize', ['batchSize', 'lr'])).toBe('batchSize');
    expect(closestKey('xyz', ['epochs', 'lr'])).toBeUndefined();
  });
});
