"""musicnn's forward pass in PyTorch: the same outputs as the NumPy pass, for GPUs and for gradients
(:mod:`sectionist.analysis.embeddings.saliency`). PyTorch is imported when a network is built."""

from __future__ import annotations

import numpy as np

from sectionist.analysis.embeddings.musicnn_numpy import bn_affine, sign_folded


def build_torch_net(w: dict, arch: str, pools, device: str):
    """A ``torch.nn.Module`` computing the same outputs as the NumPy pass (float32, inference only)."""
    import torch
    import torch.nn.functional as F

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    class MusicnnNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            s0, b0 = bn_affine(w, "batch_normalization")
            self.register_buffer("in_scale", t(s0))
            self.register_buffer("in_shift", t(b0))
            if arch == "musicnn":
                for bn, conv in enumerate(("conv2d", "conv2d_1", "conv2d_2", "conv2d_3", "conv2d_4"), start=1):
                    kernel, sign, bias, _, _ = sign_folded(w, conv, bn)
                    self.register_buffer(f"{conv}_w", t(kernel.transpose(3, 2, 0, 1)))
                    self.register_buffer(f"{conv}_sign", t(sign).view(1, -1, 1))
                    self.register_buffer(f"{conv}_b", t(bias).view(1, -1, 1))
                for conv in ("conv2d_5", "conv2d_6", "conv2d_7"):
                    # (7, D, 1, C) → conv1d weight (C, D, 7)
                    self.register_buffer(f"{conv}_w", t(w[f"{conv}/kernel"][:, :, 0, :].transpose(2, 1, 0)))
                    self.register_buffer(f"{conv}_b", t(w[f"{conv}/bias"]))
                for d in ("dense", "dense_1"):
                    self.register_buffer(f"{d}_w", t(w[f"{d}/kernel"]))
                    self.register_buffer(f"{d}_b", t(w[f"{d}/bias"]))
                for i in range(1, 11):
                    s, b = bn_affine(w, f"batch_normalization_{i}")
                    self.register_buffer(f"bn{i}_s", t(s))
                    self.register_buffer(f"bn{i}_b", t(b))
            else:
                for i in range(1, 6):
                    self.register_buffer(f"c{i}_w", t(w[f"{i}CNN/kernel"].transpose(3, 2, 0, 1)))
                    self.register_buffer(f"c{i}_b", t(w[f"{i}CNN/bias"]))
                    s, b = bn_affine(w, f"batch_normalization_{i}")
                    self.register_buffer(f"bn{i}_s", t(s))
                    self.register_buffer(f"bn{i}_b", t(b))
                self.register_buffer("dense_w", t(w["dense/kernel"]))
                self.register_buffer("dense_b", t(w["dense/bias"]))

        def bn(self, x, i, dim):
            s, b = getattr(self, f"bn{i}_s"), getattr(self, f"bn{i}_b")
            shape = [1] * x.dim()
            shape[dim] = -1
            return x * s.view(shape) + b.view(shape)

        def branch_max(self, y, conv, i):  # y: (N, C, T, F), sign-folded kernel, no bias (see musicnn_numpy._branch_max)
            extreme = y.amax(dim=3) * getattr(self, f"{conv}_sign")
            return self.bn(F.relu(extreme + getattr(self, f"{conv}_b")), i, 1)

        def forward(self, x):  # x: (N, T, 96)
            x = (x * self.in_scale + self.in_shift).unsqueeze(1)  # (N, 1, T, F)
            if arch == "vgg":
                return self._vgg(x)
            branches = []
            # max over frequency first, then bias, ReLU and BN (see musicnn_numpy._branch_max: all monotone)
            for conv, i in (("conv2d", 1), ("conv2d_1", 2)):
                y = F.conv2d(x, getattr(self, f"{conv}_w"), padding=(3, 0))
                branches.append(self.branch_max(y, conv, i))  # (N, C, T)
            for conv, i in (("conv2d_2", 3), ("conv2d_3", 4), ("conv2d_4", 5)):
                kw = getattr(self, f"{conv}_w")
                k = kw.shape[2]
                y = F.conv2d(F.pad(x, (0, 0, (k - 1) // 2, k // 2)), kw)
                branches.append(self.branch_max(y, conv, i))
            front = torch.cat(branches, dim=1)  # (N, 561, T)

            def block(inp, conv, i):
                y = F.relu(F.conv1d(inp, getattr(self, f"{conv}_w"), getattr(self, f"{conv}_b"), padding=3))
                return self.bn(y, i, 1)

            t1 = block(front, "conv2d_5", 6)
            r2 = block(t1, "conv2d_6", 7) + t1
            r3 = block(r2, "conv2d_7", 8) + r2
            midend = torch.cat([front, t1, r2, r3], dim=1)  # (N, 753, T)
            max_pool = midend.amax(dim=2)
            mean_pool = midend.mean(dim=2)
            pooled = torch.stack([max_pool, mean_pool], dim=2).reshape(midend.shape[0], -1)
            pooled_bn = self.bn(pooled, 9, 1)
            pre = pooled_bn @ self.dense_w + self.dense_b
            relu = F.relu(pre)
            pen = self.bn(relu, 10, 1)
            logits = pen @ self.dense_1_w + self.dense_1_b
            return {
                "penultimate": pen, "penultimate_relu": relu, "penultimate_preact": pre, "logits": logits,
                "probs": torch.sigmoid(logits), "pooled": pooled, "pooled_bn": pooled_bn,
                "max_pool": max_pool, "mean_pool": mean_pool, "midend": midend.transpose(1, 2),
            }

        def _vgg(self, h):
            for i, (size, stride) in enumerate(pools, start=1):
                y = F.relu(F.conv2d(h, getattr(self, f"c{i}_w"), getattr(self, f"c{i}_b"), padding=1))
                h = F.max_pool2d(self.bn(y, i, 1), size, stride)
            flat = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # NHWC order, as TF flattens
            logits = flat @ self.dense_w + self.dense_b
            return {"pool5_flat": flat, "logits": logits, "probs": torch.sigmoid(logits)}

    return MusicnnNet().to(device).eval()
