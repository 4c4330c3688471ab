#!/usr/bin/env python3
"""Write autodiff reference fixtures (the format of ../shared/fixtures/autodiff) for the seeds' backbones.

For each architecture: <out>/<case>/model.onnx (eval-mode forward, input `x` with a dynamic batch, output `logits`;
conv+BN folded in PyTorch, constant-valued tensors perturbed, random weights), reference.npz (`x`, `y` int64,
`logits`, `loss` = mean softmax cross-entropy, `grad/<initializer>` for every trainable initializer) and meta.json.
Trainable initializers are the ONNX initializers that hold a PyTorch parameter, found by name or, for the ones the
exporter folded (a transposed or split weight, e.g. `onnx::MatMul_123`), by value; their reference gradient is the
PyTorch gradient under the same transpose/split.

Usage:
  python3 tools/gen-backbone-fixtures.py OUT_DIR [--arch resnet50 ...] [--input-size 32] [--batch 2] [--small]
--small builds shallow variants of the same blocks (ResNet-50 bottlenecks [1,1,1,1], DenseNet-121 layers with
block config (1,1,1,1), ViT-B/16 with 1 encoder layer, EfficientNet-B0 at depth multiplier 0.25) so tests stay fast.
Never point OUT_DIR into ../shared.
"""
import argparse
import importlib.util
import json
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('export_backbone', os.path.join(HERE, 'export-backbone.py'))
eb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(eb)

ARCHS = {'efficientnet_b0': 'efficientnet_b0', 'resnet50': 'resnet50', 'densenet121': 'densenet121', 'vit_b_16': 'vit_b_16'}
SMALL_DEPTH = {'resnet50': 1, 'densenet121': 1, 'vit_b_16': 1, 'efficientnet_b0': 0.25}


def small_efficientnet(num_classes: int, depth_mult: float):
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
    setting, last = _efficientnet_conf('efficientnet_b0', width_mult=1.0, depth_mult=depth_mult)
    return EfficientNet(setting, 0.2, last_channel=last, num_classes=num_classes)


def tame_head(w, size: int, seed: int):
    """Scales the last Linear so logits on noise have std ≈ 1 (random inits such as EfficientNet's uniform(±1/√classes)
    head give logits of ±100, a saturated softmax and a loss of 0)."""
    lin = [m for m in w.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        s = w(torch.randn(4, 3, size, size, generator=torch.Generator().manual_seed(seed + 3)))[2].std().item()
        if s > 1:
            lin.weight.mul_(1 / s)
            lin.bias.mul_(1 / s)
    return w


def model_for(arch: str, size: int, classes: int, seed: int, small: bool):
    return tame_head(_model_for(arch, size, classes, seed, small), size, seed)


def _model_for(arch: str, size: int, classes: int, seed: int, small: bool):
    if small and arch == 'efficientnet_b0':
        torch.manual_seed(seed)
        m = small_efficientnet(classes, SMALL_DEPTH[arch]).eval()
        w = eb.ConvBackbone(m.features, m.classifier)
        eb.calibrate_bn(w, size, seed)
        eb.fold_all(w)
        eb.perturb_constants(w, seed)
        return w.eval()
    w, _ = eb.build(arch, size, classes, True, seed, SMALL_DEPTH[arch] if small else None)
    return w


def transforms(p: torch.Tensor):
    """(label, f) pairs: the ways the exporter may have stored parameter p (as is, transposed, split in 3 along dim 0)."""
    out = [('', lambda t: t)]
    if p.dim() == 2:
        out.append(('.T', lambda t: t.t()))
    if p.dim() >= 1 and p.shape[0] % 3 == 0:
        for k in range(3):
            out.append((f'[{k}/3]', lambda t, k=k: t.chunk(3, 0)[k]))
            if p.dim() == 2:
                out.append((f'[{k}/3].T', lambda t, k=k: t.chunk(3, 0)[k].t()))
    return out


def match_initializers(model_path: str, module: torch.nn.Module):
    """initializer name → (parameter name, transform) for every float initializer that holds a parameter."""
    g = onnx.load(model_path).graph
    params = dict(module.named_parameters())
    found = {}
    for init in g.initializer:
        if init.data_type != onnx.TensorProto.FLOAT:
            continue
        v = torch.from_numpy(onnx.numpy_helper.to_array(init).copy())
        if v.numel() <= 1:
            continue
        if init.name in params and params[init.name].shape == v.shape:
            found[init.name] = (init.name, lambda t: t)
            continue
        for pname, p in params.items():
            hit = None
            for _, f in transforms(p.detach()):
                c = f(p.detach())
                if c.shape == v.shape and torch.equal(c, v):
                    hit = f
                    break
            if hit is not None:
                found[init.name] = (pname, hit)
                break
    return found


def make_case(arch: str, out: str, size: int, batch: int, classes: int, seed: int, small: bool, f64: bool = False) -> dict:
    case = (f'{arch}_small' if small else arch) + ('_f64' if f64 else '')
    d = os.path.join(out, case)
    os.makedirs(d, exist_ok=True)
    w = model_for(arch, size, classes, seed, small)
    path = os.path.join(d, 'model.onnx')
    eb.export(w, path, size, ['logits'], batch=batch)
    found = match_initializers(path, w)
    g = torch.Generator().manual_seed(seed + 7)
    x = torch.randn(batch, 3, size, size, generator=g)
    y = torch.randint(0, classes, (batch,), generator=g)
    if f64:  # reference in float64: how far float32 (ours or PyTorch's) is from the exact gradient
        import copy
        w = copy.deepcopy(w).double()
    w.zero_grad()
    logits = w(x.double() if f64 else x)[2]
    loss = F.cross_entropy(logits, y)
    loss.backward()
    logits = logits.float()
    params = dict(w.named_parameters())
    arrays = {'x': x.numpy(), 'y': y.numpy().astype(np.int64), 'logits': logits.detach().numpy(),
              'loss': np.array([loss.item()], dtype=np.float32)}
    for name, (pname, f) in found.items():
        grad = params[pname].grad
        arrays[f'grad/{name}'] = f(grad if grad is not None else torch.zeros_like(params[pname])).contiguous().numpy().astype(np.float32)
    arrays['loss'] = arrays['loss'].astype(np.float32)
    np.savez(os.path.join(d, 'reference.npz'), **arrays)
    used = {p for p, _ in found.values()}
    meta = {
        'has_optimizer_references': False, 'case': case, 'input_shape': [batch, 3, size, size], 'classes': classes,
        'opset': 17, 'arch': arch, 'small': small, 'reference_dtype': 'float64' if f64 else 'float32',
        'mode': 'eval: dropout off; every convolution+batch-norm pair folded into the convolution (in PyTorch, before export); a batch-norm not after a convolution stays a BatchNormalization node using running statistics, with trainable scale and bias; random weights',
        'loss': 'mean softmax cross-entropy over the batch',
        'trainable': sorted(found), 'unmapped_params': sorted(set(params) - used),
        'num_params': int(sum(params[p].numel() for p in used)),
    }
    with open(os.path.join(d, 'meta.json'), 'w') as fh:
        json.dump(meta, fh, indent=1)
    return meta


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out', help='directory to write <case>/ folders into (not under ../shared)')
    p.add_argument('--arch', action='append', choices=sorted(ARCHS), help='architectures (default: all four)')
    p.add_argument('--input-size', type=int, default=32)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--classes', type=int, default=3)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--small', action='store_true', help='shallow variants of the same blocks (fast tests)')
    p.add_argument('--float64-reference', action='store_true', help='compute the reference in float64 (case name gets _f64)')
    a = p.parse_args(argv)
    if os.path.realpath(a.out).startswith('/work/shared'):
        raise SystemExit('refusing to write into ../shared')
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for arch in a.arch or list(ARCHS):
        meta = make_case(arch, a.out, a.input_size, a.batch, a.classes, a.seed, a.small, a.float64_reference)
        print(f"{meta['case']}: {len(meta['trainable'])} trainable initializers, {meta['num_params']} params, unmapped {len(meta['unmapped_params'])}", file=sys.stderr)


if __name__ == '__main__':
    main()
