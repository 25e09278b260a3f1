#!/usr/bin/env python3
"""Functions longer than N lines (default 40), signature to closing brace.
Usage: python3 tools/long_fns.py [N] dir_or_file...   (test modules skipped)"""
import os, re, sys
args = sys.argv[1:]; n = 40
if args and args[0].isdigit(): n = int(args.pop(0))
paths = []
for a in args or ['src']:
    if os.path.isfile(a): paths.append(a)
    for r, _, fs in os.walk(a):
        paths += [os.path.join(r, f) for f in fs if f.endswith('.rs') and f not in ('tests.rs', 'test_support.rs')]
fn = re.compile(r'^\s*(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)')
for p in sorted(set(paths)):
    lines = open(p).read().split('\n')
    cut = next((i for i, l in enumerate(lines) if l.startswith('#[cfg(test)]') and i + 1 < len(lines) and lines[i+1].startswith('mod ')), len(lines))
    i = 0
    while i < cut:
        m = fn.match(lines[i])
        if m:
            depth = 0; started = False; j = i
            while j < cut:
                code = re.sub(r'"(\\.|[^"\\])*"', '""', lines[j].split('//')[0])
                depth += code.count('{') - code.count('}')
                if '{' in code: started = True
                if started and depth <= 0: break
                if not started and code.rstrip().endswith(';'): break
                j += 1
            if started and j - i + 1 > n: print(f'{p}:{i+1}: {m.group(6)} {j-i+1} lines')
        i += 1
