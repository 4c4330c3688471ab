#!/usr/bin/env python3
"""Export a torchvision (or timm) image model to an ONNX backbone medclass can fine-tune.

The ONNX file has one input `x` [N,3,S,S] (dynamic batch) and two outputs:
  features   the last convolutional map [N,C,h,w] (Grad-CAM reads it). For a ViT: the patch tokens entering the
             last encoder block, reshaped to [N,D,S/16,S/16] (the graph routes through this tensor, so the class
             token's gradient reaches it through the last block's attention).
  embedding  the pooled vector [N,D] the new head reads (global average pool; a ViT's final class token).
Convolution + batch-norm pairs are folded in PyTorch before export (as an eval-mode export does), so every
trainable weight keeps its PyTorch name. A JSON sidecar `<out>.preprocess.json` holds the preprocessing in the
form of medclass's `data.preprocess` (size, channels, normalize) plus the raw mean/std.

Usage:
  python3 tools/export-backbone.py resnet50 --out resnet50.onnx                       # pretrained (downloads)
  python3 tools/export-backbone.py vit_b_16 --random-weights --input-size 64 --out vit.onnx
  python3 tools/export-backbone.py timm:efficientnet_b0 --out effnet.onnx             # needs timm
"""
import argparse
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A conv computing conv→bn (eval mode) in one; keeps the conv's parameter names."""
    return torch.nn.utils.fusion.fuse_conv_bn_eval(conv.eval(), bn.eval())


def fold_all(module: nn.Module) -> None:
    """Folds every BatchNorm2d that directly follows a Conv2d: consecutive children of a Sequential, or
    torchvision's convN/bnN attribute pairs (ResNet) and conv/norm pairs (DenseNet layers)."""
    for child in module.children():
        fold_all(child)
    if isinstance(module, nn.Sequential):
        names = list(module._modules.keys())
        for a, b in zip(names, names[1:]):
            c, n = module._modules[a], module._modules[b]
            if isinstance(c, nn.Conv2d) and isinstance(n, nn.BatchNorm2d):
                module._modules[a] = fold_bn(c, n)
                module._modules[b] = nn.Identity()
    for name in list(module._modules.keys()):
        if name.startswith('conv') and isinstance(module._modules[name], nn.Conv2d):
            bn_name = 'bn' + name[4:]
            if isinstance(module._modules.get(bn_name), nn.BatchNorm2d):
                module._modules[name] = fold_bn(module._modules[name], module._modules[bn_name])
                module._modules[bn_name] = nn.Identity()
    # DenseNet's dense layer: norm1 relu1 conv1 norm2 relu2 conv2 (norm2 follows conv1)
    if all(k in module._modules for k in ('conv1', 'norm2')) and isinstance(module._modules['norm2'], nn.BatchNorm2d) \
            and isinstance(module._modules['conv1'], nn.Conv2d):
        module._modules['conv1'] = fold_bn(module._modules['conv1'], module._modules['norm2'])
        module._modules['norm2'] = nn.Identity()


class ConvBackbone(nn.Module):
    """features = a CNN's last map, embedding = its global average pool."""

    def __init__(self, trunk: nn.Module, head: nn.Module, relu_after: bool = False):
        super().__init__()
        self.trunk, self.head, self.relu_after = trunk, head, relu_after

    def forward(self, x):
        f = self.trunk(x)
        if self.relu_after:
            f = F.relu(f)
        emb = torch.flatten(F.adaptive_avg_pool2d(f, 1), 1)
        return f, emb, self.head(emb)


class ResNetTrunk(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        m = self.m
        x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
        return m.layer4(m.layer3(m.layer2(m.layer1(x))))


class VitBackbone(nn.Module):
    """torchvision ViT: features = patch tokens entering the last encoder block as [N,D,h,w]; embedding = the
    class token after the final LayerNorm."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        m = self.m
        tokens = m._process_input(x)
        n, d = tokens.shape[0], m.hidden_dim
        side = m.image_size // m.patch_size
        x = torch.cat([m.class_token.expand(n, -1, -1), tokens], dim=1) + m.encoder.pos_embedding
        layers = list(m.encoder.layers)
        for blk in layers[:-1]:
            x = blk(x)
        cls, patches = x[:, :1], x[:, 1:]
        # -1, not n: a batch size taken from the input's shape would tie every later block to the input (no clean cut)
        f = patches.transpose(1, 2).reshape(-1, d, side, side)
        x = torch.cat([cls, f.flatten(2).transpose(1, 2)], dim=1)
        x = m.encoder.ln(layers[-1](x))
        emb = x[:, 0]
        return f, emb, m.heads(emb)


def build_torchvision(name: str, size: int, num_classes: int, random_weights: bool, depth=None):
    """(wrapper module, preprocessing dict) for a torchvision classification model."""
    import torchvision.models as tvm
    kwargs = {'num_classes': num_classes} if random_weights else {'weights': 'DEFAULT'}
    if name.startswith('vit'):
        kwargs['image_size'] = size
    if depth is not None:  # shallow variants of the same blocks, for small test fixtures
        if name.startswith('resnet'):
            from torchvision.models.resnet import Bottleneck, BasicBlock, ResNet
            block = BasicBlock if name in ('resnet18', 'resnet34') else Bottleneck
            m = ResNet(block, [depth] * 4, num_classes=num_classes)
        elif name.startswith('densenet'):
            m = tvm.DenseNet(32, (depth,) * 4, 64, num_classes=num_classes)
        elif name.startswith('vit'):
            from torchvision.models.vision_transformer import VisionTransformer
            m = VisionTransformer(image_size=size, patch_size=16, num_layers=depth, num_heads=12, hidden_dim=768,
                                  mlp_dim=3072, num_classes=num_classes)
        else:
            m = getattr(tvm, name)(**kwargs)
    else:
        m = getattr(tvm, name)(**kwargs)
    m.eval()
    if name.startswith('vit'):
        wrapper = VitBackbone(m)
    elif name.startswith('resnet') or name.startswith('resnext') or name.startswith('wide_resnet'):
        wrapper = ConvBackbone(ResNetTrunk(m), m.fc)
    elif name.startswith('densenet'):
        wrapper = ConvBackbone(m.features, m.classifier, relu_after=True)
    elif hasattr(m, 'features') and hasattr(m, 'classifier'):
        wrapper = ConvBackbone(m.features, m.classifier)
    else:
        raise SystemExit(f'{name}: no recipe for this torchvision model (supported: resnet*, densenet*, efficientnet*, mobilenet*, vit_*)')
    return wrapper, {'mean': IMAGENET[0], 'std': IMAGENET[1], 'source': f'torchvision {name}'}


class TimmBackbone(nn.Module):
    """timm: features = forward_features (CNN map, or ViT patch tokens reshaped), embedding = forward_head(pre_logits)."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        f = self.m.forward_features(x)
        emb = self.m.forward_head(f, pre_logits=True)
        if f.dim() == 3:  # ViT-like tokens [N, T, D]: drop prefix tokens, reshape
            n, t, d = f.shape[0], int(f.shape[1]), int(f.shape[2])
            prefix = getattr(self.m, 'num_prefix_tokens', 1)
            side = int(round((t - prefix) ** 0.5))
            f = f[:, prefix:].transpose(1, 2).reshape(-1, d, side, side)
        return f, emb, self.m.get_classifier()(emb)


def build_timm(name: str, size: int, num_classes: int, random_weights: bool):
    import timm
    kw = {'img_size': size} if 'vit' in name or 'deit' in name else {}
    m = timm.create_model(name, pretrained=not random_weights, num_classes=num_classes, **kw).eval()
    cfg = m.pretrained_cfg if hasattr(m, 'pretrained_cfg') else {}
    pre = {'mean': list(cfg.get('mean', IMAGENET[0])), 'std': list(cfg.get('std', IMAGENET[1])), 'source': f'timm {name}'}
    return TimmBackbone(m), pre


def calibrate_bn(model: nn.Module, size: int, seed: int) -> None:
    """Random weights: sets batch-norm running statistics from a few noise batches, so activations keep a sane scale."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    g = torch.Generator().manual_seed(seed)
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, 3, size, size, generator=g))
    model.eval()


def perturb_constants(model: nn.Module, seed: int) -> None:
    """Adds small noise to constant-valued parameters and buffers (zero biases, unit scales, zero class tokens) so
    that the exporter keeps every one as its own initializer."""
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if not t.is_floating_point() or t.numel() == 0:
                continue
            flat = t.reshape(-1)
            if torch.all(flat == flat[0]):
                noise = 0.02 * torch.rand(t.shape, generator=g) if 'var' in name else 0.02 * torch.randn(t.shape, generator=g)
                t.add_(noise)


def build(name: str, size: int, num_classes: int, random_weights: bool, seed: int = 0, depth=None):
    """(wrapper, preprocessing) with BN folded; the wrapper returns (features, embedding, logits)."""
    torch.manual_seed(seed)
    if name.startswith('timm:'):
        wrapper, pre = build_timm(name[5:], size, num_classes, random_weights)
    else:
        wrapper, pre = build_torchvision(name, size, num_classes, random_weights, depth)
    if random_weights:
        calibrate_bn(wrapper, size, seed)
    fold_all(wrapper)
    if random_weights:
        perturb_constants(wrapper, seed)
    wrapper.eval()
    return wrapper, pre


class Outputs(nn.Module):
    def __init__(self, m, keep):
        super().__init__()
        self.m, self.keep = m, keep

    def forward(self, x):
        out = self.m(x)
        return tuple(out[i] for i in self.keep)


def export(wrapper: nn.Module, path: str, size: int, names, batch: int = 1, dynamic: bool = True) -> None:
    """Exports outputs `names` (subset of features, embedding, logits) with input `x` at opset 17."""
    order = ['features', 'embedding', 'logits']
    keep = [order.index(n) for n in names]
    x = torch.randn(batch, 3, size, size)
    dyn = {'x': {0: 'N'}, **{n: {0: 'N'} for n in names}} if dynamic else None
    # Grad enabled on purpose: nn.MultiheadAttention's inference fast path has no ONNX export.
    with torch.enable_grad():
        torch.onnx.export(Outputs(wrapper, keep).eval(), x, path, input_names=['x'], output_names=list(names), opset_version=17,
                          do_constant_folding=True, dynamic_axes=dyn, training=torch.onnx.TrainingMode.EVAL)
    wrapper.eval()  # the exporter restores the wrapper's mode recursively


def normalize_preset(mean, std):
    """medclass's `normalize` preset for a mean/std pair, or None when it has no preset."""
    close = lambda a, b: all(abs(u - v) < 1e-3 for u, v in zip(a, b))
    if close(mean, IMAGENET[0]) and close(std, IMAGENET[1]):
        return 'imagenet'
    if close(mean, [0.5] * 3) and close(std, [0.5] * 3):
        return 'half'
    if close(mean, [0] * 3) and close(std, [1] * 3):
        return 'none'
    return None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('model', help='torchvision name (efficientnet_b0, resnet50, densenet121, vit_b_16, …) or timm:<name>')
    p.add_argument('--out', required=True, help='ONNX file to write (sidecar: <out minus .onnx>.preprocess.json)')
    p.add_argument('--input-size', type=int, default=224, help='square input side (ViT: a multiple of 16)')
    p.add_argument('--random-weights', action='store_true', help='no download: random init (BN statistics from noise)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--depth', type=int, help='tests only, with --random-weights: blocks per stage (ResNet/DenseNet) or encoder layers (ViT)')
    a = p.parse_args(argv)
    if a.depth is not None and not a.random_weights:
        raise SystemExit('--depth builds a shallow random-weight variant; add --random-weights')
    wrapper, pre = build(a.model, a.input_size, 1000, a.random_weights, a.seed, a.depth)
    export(wrapper, a.out, a.input_size, ['features', 'embedding'])
    with torch.no_grad():
        f, emb, _ = wrapper(torch.zeros(1, 3, a.input_size, a.input_size))
    side = {
        'size': a.input_size, 'channels': 3, 'fit': 'squash', 'normalize': normalize_preset(pre['mean'], pre['std']),
        'mean': pre['mean'], 'std': pre['std'], 'model': a.model, 'source': pre['source'],
        'weights': 'random' if a.random_weights else 'pretrained',
        'features': list(f.shape[1:]), 'embedding': int(emb.shape[1]),
        'features_note': 'patch tokens entering the last encoder block, reshaped to [D,h,w]' if 'vit' in a.model else 'last convolutional map',
    }
    sidecar = (a.out[:-5] if a.out.endswith('.onnx') else a.out) + '.preprocess.json'
    with open(sidecar, 'w') as fh:
        json.dump(side, fh, indent=1)
    print(f'wrote {a.out} (features {list(f.shape[1:])}, embedding {int(emb.shape[1])}) and {sidecar}', file=sys.stderr)


if __name__ == '__main__':
    main()
