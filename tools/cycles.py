#!/usr/bin/env python3
"""Import cycles in a Rust crate: file level and folder level.
Usage: python3 tools/cycles.py [src_dir] [--store]
Edges come from `crate::`, `super::` and `self::` paths anywhere in a file
(use lines and inline paths), test modules excluded (#[cfg(test)] mod ... { } blocks
and files named tests.rs / test_support.rs / fake.rs are skipped)."""
import os, re, sys
from collections import defaultdict
src = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith('-') else 'src'
mods = {}  # module path tuple -> file
for root, _, files in os.walk(src):
    for f in files:
        if not f.endswith('.rs'): continue
        p = os.path.join(root, f); rel = os.path.relpath(p, src)[:-3].split(os.sep)
        if rel[-1] in ('mod', 'lib', 'main'): rel = rel[:-1]
        mods[tuple(rel)] = p
SKIP = {'tests', 'test_support', 'fake'}
def strip_tests(s):
    i = s.find('#[cfg(test)]\nmod tests {')
    return s if i < 0 else s[:i]
def resolve(cur, parts):
    # longest module prefix that exists
    for n in range(len(parts), 0, -1):
        if tuple(parts[:n]) in mods: return tuple(parts[:n])
    return None
edges = defaultdict(set)
pat = re.compile(r'\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)')
brace = re.compile(r'\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^}]*)\}')
for m, p in mods.items():
    if m and m[-1] in SKIP: continue
    s = strip_tests(open(p).read())
    s = re.sub(r'//[^\n]*', '', s)
    refs = []
    for b in brace.finditer(s):
        for item in b.group(3).split(','):
            item = item.strip().split(' as ')[0]
            if item: refs.append((b.group(1), b.group(2) + '::' + item.replace('{', '')))
    refs += [(a.group(1), a.group(2)) for a in pat.finditer(s)]
    isdir = os.path.basename(p) in ('mod.rs', 'lib.rs')
    base = list(m) if isdir else list(m[:-1])
    for kind, rest in refs:
        parts = [x for x in rest.split('::') if x]
        if kind == 'crate': full = parts
        elif kind == 'self': full = (list(m) if True else base) + parts
        else:
            up = list(m[:-1]); 
            while parts and parts[0] == 'super': up = up[:-1]; parts = parts[1:]
            full = up + parts
        t = resolve(m, full)
        if t is not None and t != m and not (t and t[-1] in SKIP):
            # a parent declaring children is not an edge we count when it's just `self::child`
            edges[m].add(t)
def sccs(nodes, edges):
    idx = {}; low = {}; st = []; on = set(); out = []; c = [0]
    sys.setrecursionlimit(10000)
    def visit(v):
        idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
        for w in edges.get(v, ()):
            if w not in idx: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], idx[w])
        if low[v] == idx[v]:
            comp = []
            while True:
                w = st.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(comp)
    for v in nodes:
        if v not in idx: visit(v)
    return out
name = lambda m: '::'.join(m) or 'crate'
print('== file-level cycles ==')
for comp in sccs(list(mods), edges): print('  ' + ' <-> '.join(sorted(map(name, comp))))
# folder level: a module's folder = its top-level module; edge between top-level modules
top = defaultdict(set)
for a, ts in edges.items():
    for b in ts:
        if a and b and a[0] != b[0]: top[(a[0],)].add((b[0],))
print('== top-level module cycles (folders) ==')
for comp in sccs(list(top), top): print('  ' + ' <-> '.join(sorted(map(name, comp))))
if '--store' in sys.argv:
    print('== store imports from above ==')
    for a, ts in sorted(edges.items()):
        if a and a[0] == 'store':
            for b in sorted(ts):
                if b and b[0] in ('oauth', 'tokens', 'identity', 'hub', 'cli'): print('  ', name(a), '->', name(b))
if '--edges' in sys.argv:
    # The edges inside each cycle, with the file that makes them: what to cut.
    print('== edges inside cycles ==')
    for comp in sccs(list(mods), edges):
        cs = set(comp)
        for a in sorted(cs):
            for b in sorted(edges[a] & cs): print('  ', name(a), '->', name(b))
    for comp in sccs(list(top), top):
        cs = {c[0] for c in comp}
        for a, ts in sorted(edges.items()):
            for b in sorted(ts):
                if a and b and a[0] != b[0] and a[0] in cs and b[0] in cs:
                    print('   [folder]', name(a), '->', name(b))
