#!/usr/bin/python3
"""PyTorch peer for `medclass train SOURCE --budget B`: a plain compact CNN on a MedMNIST .npz (official split),
the same wall-time budget, 2 threads.

Recipe (fixed, not tuned on test): 8 conv layers (3x3 conv-BN-ReLU, widths 32/32/64/64/128/128/256/256, 2x2 max-pool
after each pair but the last), global average pooling, dropout 0.2, linear; AdamW lr 3e-3, wd 5e-4, one-cycle,
batch 64, class weights N/(C*n_c), random shift +-2 px; the epoch count comes from the first epoch's measured time so
that training ends by 85 % of the budget; the best-validation-AUC epoch is evaluated on test.

Usage: /usr/bin/python3 bench/peer_budget.py ../shared/data/pneumoniamnist/reconstructed_full/pneumoniamnist.npz 300 [threads=2] [epochs]
With `epochs`, that many epochs run (one-cycle over all of them) and the budget is ignored: the fixed-epoch peer of an
example config (issue 16: `examples/pneumoniamnist.yaml` runs 12 epochs).
Prints one JSON line: test AUC / ACC (with 1000-resample bootstrap 95 % CIs), epochs, wall seconds, 1-min load.
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, roc_auc_score

T0 = time.time()
THREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 2
FIXED_EPOCHS = int(sys.argv[4]) if len(sys.argv) > 4 else None
torch.set_num_threads(THREADS)
torch.manual_seed(0)
np.random.seed(0)


def load(path):
    z = np.load(path)
    out = {}
    for s in ('train', 'val', 'test'):
        x = z[f'{s}_images'].astype(np.float32) / 255.0
        x = x[:, None] if x.ndim == 3 else x.transpose(0, 3, 1, 2)
        out[s] = (torch.from_numpy((x - 0.5) / 0.5), torch.from_numpy(z[f'{s}_labels'].reshape(-1).astype(np.int64)))
    return out


class PlainCnn(nn.Module):
    def __init__(self, cin, k):
        super().__init__()
        layers, c = [], cin
        for i, w in enumerate([32, 32, 64, 64, 128, 128, 256, 256]):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            if i % 2 == 1 and i < 7:
                layers.append(nn.MaxPool2d(2))
            c = w
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(c, k)

    def forward(self, x):
        return self.fc(F.dropout(self.body(x).mean((2, 3)), 0.2, self.training))


def shift(x, px=2):
    n = x.shape[0]
    pad = F.pad(x, (px, px, px, px), mode='replicate')
    dx, dy = np.random.randint(0, 2 * px + 1, n), np.random.randint(0, 2 * px + 1, n)
    h, w = x.shape[2], x.shape[3]
    return torch.stack([pad[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def probs(model, x):
    model.eval()
    with torch.no_grad():
        return torch.cat([F.softmax(model(x[i:i + 256]), 1) for i in range(0, len(x), 256)]).numpy()


def auc(y, p):
    return roc_auc_score(y, p[:, 1]) if p.shape[1] == 2 else roc_auc_score(y, p, multi_class='ovr', average='macro')


def main():
    path, budget = sys.argv[1], float(sys.argv[2])
    d = load(path)
    (xtr, ytr), (xva, yva), (xte, yte) = d['train'], d['val'], d['test']
    k = int(ytr.max()) + 1
    counts = np.bincount(ytr.numpy(), minlength=k)
    weights = torch.tensor(len(ytr) / (k * counts), dtype=torch.float32)
    model = PlainCnn(xtr.shape[1], k)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
    bs, n = 64, len(ytr)
    steps = n // bs
    epochs, sched, best, e = None, None, (-1, None, 0), 0
    if FIXED_EPOCHS:
        epochs = FIXED_EPOCHS
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * steps, pct_start=0.2)
    while epochs is None or e < epochs:
        t = time.time()
        model.train()
        perm = torch.randperm(n)
        for b in range(steps):
            idx = perm[b * bs:(b + 1) * bs]
            loss = F.cross_entropy(model(shift(xtr[idx])), ytr[idx], weight=weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched:
                sched.step()
        v = auc(yva.numpy(), probs(model, xva))
        e += 1
        if v > best[0]:
            best = (v, {kk: vv.clone() for kk, vv in model.state_dict().items()}, e)
        if epochs is None:  # plan from the measured first epoch, then one-cycle over the rest
            per = time.time() - t
            epochs = max(2, int((0.85 * budget - (time.time() - T0)) / per) + 1)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=(epochs - 1) * steps, pct_start=0.2)
    model.load_state_dict(best[1])
    p = probs(model, xte)
    y = yte.numpy()
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(1000):
        i = rng.integers(0, len(y), len(y))
        if len(np.unique(y[i])) == k:
            boots.append((auc(y[i], p[i]), accuracy_score(y[i], p[i].argmax(1))))
    lo, hi = np.percentile(np.array(boots), [2.5, 97.5], axis=0)
    print(json.dumps({
        'data': os.path.basename(path), 'budget_s': budget, 'epochs': epochs, 'best_epoch': best[2], 'val_auc': round(best[0], 4),
        'test_auc': round(auc(y, p), 4), 'test_auc_ci': [round(lo[0], 4), round(hi[0], 4)],
        'test_acc': round(accuracy_score(y, p.argmax(1)), 4), 'test_acc_ci': [round(lo[1], 4), round(hi[1], 4)],
        'wall_s': round(time.time() - T0, 1), 'load_1min': os.getloadavg()[0], 'torch': torch.__version__, 'threads': THREADS,
    }))


if __name__ == '__main__':
    main()
