#!/usr/bin/env python3
"""Trains the zstd dictionary hookarr compresses stored bodies and envelopes with (src/storage/zstd-1.dict)
from the project's own corpus: the app payloads under tests/fixtures/inbound and the normalized events of
tests/it/snapshots. Run from the repository's root with `pip install zstandard`. A new dictionary gets a new
number (zstd-2.dict …): rows written with an older one must still open, so none is ever replaced."""
import glob, os, sys
import zstandard

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "src/storage/zstd-1.dict")
samples = []
for path in sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/inbound/*/*.json"))):
    samples.append(open(path, "rb").read())
for path in sorted(glob.glob(os.path.join(ROOT, "tests/it/snapshots/it__fixtures__*.snap"))):
    samples.append(open(path, "rb").read().split(b"---\n", 2)[-1])
dictionary = zstandard.train_dictionary(16 * 1024, samples, level=3, dict_id=1)
open(out, "wb").write(dictionary.as_bytes())
print(f"{out}: {len(dictionary.as_bytes())} bytes from {len(samples)} samples")
