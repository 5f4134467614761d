#!/usr/bin/env python
"""The house rules of mixup_nb, checked: prints every violation, one per line, and exits 1 if there is any.

Rules (issue #9, "Done when"):
  size      no module of the package over 300 lines (`_modidx.py`, nbdev's generated index, excepted)
  circle    no import circle between the package's modules (deferred imports inside functions count too:
            they hide a circle, they do not remove it)
  private   no private name (`_x`) imported from, or read off, another module of the package
  unused    no unused import (pyflakes)
  checked   every function and class a notebook exports is referenced by a non-export code cell after it
            and before the next export cell (`#| eval: false` cells do not count: they never run)

Usage: python tools/house.py [--root DIR] [--rule RULE ...]
"""
from __future__ import annotations
import argparse, ast, json, re, sys
from pathlib import Path

MAX_LINES = 300
RULES = ('size', 'circle', 'private', 'unused', 'checked')
EXPORT = re.compile(r'^\s*#\s*\|\s*export[is]?\b')
NOEVAL = re.compile(r'^\s*#\s*\|\s*eval\s*:\s*false\b')


def package_modules(root: Path, pkg: str = 'mixup_nb') -> dict[str, Path]:
    "Every module of the package by dotted name: `mixup_nb.data.images` -> its file."
    mods = {}
    for p in sorted((root / pkg).rglob('*.py')):
        parts = p.relative_to(root).with_suffix('').parts
        if '__pycache__' in parts or any(s.startswith('.') for s in parts): continue
        if parts[-1] == '__init__': parts = parts[:-1]
        mods['.'.join(parts)] = p
    return mods


def check_size(root: Path, mods: dict[str, Path]) -> list[str]:
    "Modules over `MAX_LINES` lines."
    out = []
    for name, p in mods.items():
        if p.name == '_modidx.py': continue
        n = len(p.read_text().splitlines())
        if n > MAX_LINES: out.append(f"{p.relative_to(root)}:1: size: {n} lines (at most {MAX_LINES})")
    return out


def _is_pkg(p: Path) -> bool: return p.name == '__init__.py'


def _resolve(name: str, p: Path, node: ast.ImportFrom) -> str:
    "The absolute module named by a `from ... import` in module `name` (file `p`)."
    if not node.level: return node.module or ''
    base = name.split('.') if _is_pkg(p) else name.split('.')[:-1]
    base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
    return '.'.join(base + ([node.module] if node.module else []))


def imports(name: str, p: Path, mods: dict[str, Path]):
    "(line, target module, imported name or None, alias) for every import of a package module in `p`."
    tree = ast.parse(p.read_text(), str(p))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in mods or a.name.split('.')[0] in {m.split('.')[0] for m in mods}:
                    yield node.lineno, a.name, None, a.asname or a.name.split('.')[0]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, p, node)
            if target not in mods: continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in mods: yield node.lineno, sub, None, a.asname or a.name  # a submodule, not a name
                else: yield node.lineno, target, a.name, a.asname or a.name


def import_graph(mods: dict[str, Path]) -> dict[str, dict[str, int]]:
    "module -> {imported package module: first line}; importing `a.b.c` also imports the packages `a.b` above it."
    g = {m: {} for m in mods}
    for name, p in mods.items():
        for line, target, _, _ in imports(name, p, mods):
            parts = target.split('.')
            for i in range(2, len(parts) + 1):
                t = '.'.join(parts[:i])
                # a package's parents are already being imported when it runs: no edge from a module to its own package
                if t == name or name.startswith(t + '.') or t not in mods: continue
                g[name].setdefault(t, line)
    return g


def cycles(g: dict[str, dict[str, int]]) -> list[list[str]]:
    "The strongly connected components with more than one module (Tarjan), each sorted."
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    def visit(v):
        index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
        for w in g[v]:
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1 or v in g[v]: out.append(sorted(comp))
    sys.setrecursionlimit(max(1000, 10 * len(g)))
    for v in sorted(g):
        if v not in index: visit(v)
    return out


def shortest_path(g: dict[str, dict[str, int]], a: str, b: str, within: set[str]) -> list[str] | None:
    "The shortest import path from `a` to `b` through the modules `within` (breadth first)."
    prev, todo = {a: None}, [a]
    for v in todo:
        if v == b: break
        for w in sorted(g[v]):
            if w in within and w not in prev: prev[w] = v; todo.append(w)
    if b not in prev: return None
    path = [b]
    while prev[path[-1]] is not None: path.append(prev[path[-1]])
    return path[::-1]


def check_circle(root: Path, mods: dict[str, Path]) -> list[str]:
    "One line per import circle (the shortest circle through each import that closes one), naming the line of each import."
    g, out, seen = import_graph(mods), [], set()
    for comp in cycles(g):
        within = set(comp)
        for a in comp:
            for b in sorted(g[a]):
                if b not in within: continue
                loop = [a] + shortest_path(g, b, a, within)[:-1]
                i = loop.index(min(loop)); loop = loop[i:] + loop[:i]
                if tuple(loop) in seen: continue
                seen.add(tuple(loop))
                steps = [f"{u} ({mods[u].relative_to(root)}:{g[u][v]})" for u, v in zip(loop, loop[1:] + loop[:1])]
                out.append(f"{mods[loop[0]].relative_to(root)}:{g[loop[0]][loop[1 % len(loop)]]}: circle: "
                           + ' -> '.join(steps) + f" -> {loop[0]}")
    return out


def _private(n: str) -> bool: return n.startswith('_') and not (n.startswith('__') and n.endswith('__'))


def check_private(root: Path, mods: dict[str, Path]) -> list[str]:
    "Private names taken from another package module: `from .m import _x`, or `m._x` on an imported module."
    out = []
    for name, p in mods.items():
        aliases = {}
        for line, target, what, alias in imports(name, p, mods):
            if target == name: continue
            if what is None: aliases[alias] = target
            elif _private(what): out.append(f"{p.relative_to(root)}:{line}: private: imports {what} from {target}")
        if not aliases: continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                out.append(f"{p.relative_to(root)}:{node.lineno}: private: reads {node.value.id}.{node.attr} from {aliases[node.value.id]}")
    return out


def check_unused(root: Path, mods: dict[str, Path]) -> list[str]:
    "Unused imports, as pyflakes reports them."
    from pyflakes import checker, messages
    out = []
    for name, p in mods.items():
        src = p.read_text()
        w = checker.Checker(ast.parse(src, str(p)), filename=str(p))
        for m in sorted(w.messages, key=lambda m: m.lineno):
            if isinstance(m, messages.UnusedImport):
                out.append(f"{p.relative_to(root)}:{m.lineno}: unused: {m.message % m.message_args}")
    return out


def _code(src: str) -> str:
    "A cell's source without comments and notebook magics, for looking up names."
    lines = [l for l in src.splitlines() if not l.lstrip().startswith(('#', '!', '%'))]
    return re.sub(r'#.*', '', '\n'.join(lines))


def exported_names(src: str) -> list[str]:
    "The public functions and classes an export cell defines at top level."
    try: tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.lstrip().startswith(('!', '%'))))
    except SyntaxError: return []
    return [n.name for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not n.name.startswith('_')]


def notebook_cells(nb: Path) -> list[tuple[int, bool, str]]:
    "(cell number, is an export cell, source) for every code cell."
    cells = json.loads(nb.read_text())['cells']
    return [(i, any(EXPORT.match(l) for l in ''.join(c['source']).splitlines()), ''.join(c['source']))
            for i, c in enumerate(cells) if c['cell_type'] == 'code']


def check_checked(root: Path, nbs: str = 'nbs') -> list[str]:
    "Exported functions and classes that no non-export cell references before the next export cell."
    out = []
    for nb in sorted((root / nbs).rglob('*.ipynb')):
        rel = nb.relative_to(root)
        if any(s.startswith(('_', '.')) for s in rel.parts) or '.ipynb_checkpoints' in rel.parts: continue
        cells = notebook_cells(nb)
        for k, (i, exp, src) in enumerate(cells):
            if not exp: continue
            after = []
            for _, exp2, src2 in cells[k + 1:]:
                if exp2: break
                if not any(NOEVAL.match(l) for l in src2.splitlines()): after.append(_code(src2))   # a cell never run checks nothing
            shown = '\n'.join(after)
            for n in exported_names(src):
                if not re.search(rf'(?<![\w]){re.escape(n)}(?!\w)', shown):
                    out.append(f"{rel}:cell {i}: checked: {n} is not used by a cell between its export and the next export")
    return out


def check(root: Path, rules=RULES) -> list[str]:
    "Every violation of the chosen rules under `root`."
    mods, out = package_modules(root), []
    for r in rules:
        out += check_checked(root) if r == 'checked' else globals()[f'check_{r}'](root, mods)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--root', type=Path, default=Path(__file__).resolve().parent.parent, help="the project root (default: this checkout)")
    ap.add_argument('--rule', action='append', choices=RULES, help="check only this rule (repeatable; default: all)")
    a = ap.parse_args(argv)
    if not (a.root / 'mixup_nb').is_dir(): ap.error(f"--root must be a project root holding mixup_nb/, got {a.root}")
    found = check(a.root, a.rule or RULES)
    for v in found: print(v)
    print(f"house: {len(found)} violation(s)" if found else "house: no violations", file=sys.stderr)
    return 1 if found else 0


if __name__ == '__main__': sys.exit(main())
