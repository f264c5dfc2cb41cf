#!/usr/bin/env python3
"""Sizes of the browser bundle as the release build (`cargo xtask build`) leaves it in PKG_DIR:
the module every page loads first (the WASM, its JS glue and the split loader; the names with or
without the hashes of hash-files), and for each
lazily loaded page what it adds (its own WASM plus the shared chunks it needs, from
__wasm_split_manifest.json), raw and gzip -9, each file compressed on its own as a server
sends it. Usage: wasm-sizes.py PKG_DIR
"""
import gzip
import json
import os
import sys

pkg = sys.argv[1]


def size(name):
    data = open(os.path.join(pkg, name), "rb").read()
    return len(data), len(gzip.compress(data, 9))


def total(names):
    sizes = [size(n) for n in names]
    return sum(r for r, _ in sizes), sum(g for _, g in sizes)


def named(prefix, suffix):
    """The file PREFIX<hash>SUFFIX, or PREFIXSUFFIX in a build without hash-files."""
    found = [f for f in os.listdir(pkg) if f.startswith(prefix) and f.endswith(suffix) and f.count(".") <= 2]
    return found[0] if found else None


first = [named("switchyard.", "wasm"), named("switchyard.", "js")]
manifest = {}
manifest_file = named("__wasm_split_manifest", ".json")
if manifest_file:
    first.append(named("__wasm_split.", ".js"))
    manifest = json.load(open(os.path.join(pkg, manifest_file)))
raw, gz = total(first)
kib = lambda n: f"{n / 1024:.0f} KiB"
print(f"WASM bundle, first load:  {kib(raw)} raw, {kib(gz)} gzip -9 (target < 600 KiB gzip)")
worst = ("", gz)
for split, chunks in sorted(manifest.items()):
    # The page's own module is listed among its chunks (split_<name>).
    r, g = total(sorted({c + ".wasm" for c in chunks}))
    page = split.strip("_").split("_route")[0].replace("_", "-")
    print(f"  + page {page:16s} {kib(r):>9} raw, {kib(g):>8} gzip: {kib(gz + g)} gzip for a first visit")
    if gz + g > worst[1]:
        worst = (page, gz + g)
if manifest:
    print(f"heaviest first visit:     {worst[0]}, {kib(worst[1])} gzip (target < 600 KiB gzip)")
