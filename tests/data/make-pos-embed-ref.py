#!/usr/bin/python3
"""The reference for tests/test_resolution.c: position embeddings resized as the official utils.py's
interpolate_pos_embed does (row 0 kept, the rest a grid, torch.nn.functional.interpolate bicubic,
align_corners=False), computed with PyTorch (Debian's python3-torch 1.13 made the committed file):
    /usr/bin/python3 tests/data/make-pos-embed-ref.py > tests/data/pos_embed_bicubic.txt
Each line: old_side new_side D, the source pos_embed (1, 1 + old^2, D) flattened, "|", the result."""
import torch

torch.manual_seed(0)
for old, new, D in ((4, 6, 3), (5, 3, 2), (14, 20, 3)):
    pe = torch.randn(1, 1 + old * old, D)
    extra, pos = pe[:, :1], pe[:, 1:]
    pos = pos.reshape(-1, old, old, D).permute(0, 3, 1, 2)
    pos = torch.nn.functional.interpolate(pos, size=(new, new), mode="bicubic", align_corners=False)
    out = torch.cat((extra, pos.permute(0, 2, 3, 1).flatten(1, 2)), dim=1)
    print(old, new, D, " ".join("%.9g" % v for v in pe.flatten().tolist()), "|",
          " ".join("%.9g" % v for v in out.flatten().tolist()))
