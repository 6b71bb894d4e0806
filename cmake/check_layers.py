#!/usr/bin/env python3
"""Checks that every layer of abmil includes only its own headers and those of
the layers below it (CMakeLists.txt declares the graph with abmil_add_layer).

  check_layers.py --src SRC --layer config= --layer data=config,io ...
      SRC/abmil/<layer>/ holds each layer; a layer may include the headers of
      the layers it names and of theirs, transitively. Exit 1 with one line
      per wrong-way include: FILE:LINE: ... the forbidden layer.
  check_layers.py --self-test
      Runs the check on a small tree with a wrong-way include; exit 0 when it
      is caught (and a correct tree passes).

Includes are read from "abmil/<layer>/..." and <abmil/<layer>/...> paths and
from relative paths ("../train/trainer.h") that land in another layer.
Folders under SRC/abmil that are not declared layers are reported too, so a
new folder gets its place in the graph.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
SOURCE_SUFFIXES = (".h", ".hpp", ".cpp", ".cc", ".cxx")


def closure(graph, layer):
    """The layers `layer` may include: itself and its dependencies, transitively."""
    seen, todo = {layer}, [layer]
    while todo:
        for dep in graph.get(todo.pop(), ()):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def included_layer(src_abmil, file_dir, kind, path):
    """The layer folder an include lands in, or None (third-party, pch.h, ...)."""
    candidates = []
    if kind == '"':
        candidates.append(os.path.normpath(os.path.join(file_dir, path)))
    if path.startswith("abmil/"):
        candidates.append(os.path.normpath(os.path.join(os.path.dirname(src_abmil), path)))
    for resolved in candidates:
        rel = os.path.relpath(resolved, src_abmil)
        parts = rel.split(os.sep)
        if rel.startswith("..") or len(parts) < 2:
            continue
        if resolved == candidates[-1] or os.path.exists(resolved):
            return parts[0]
    return None


def check(src, graph):
    """Returns the list of error lines for the tree under `src`."""
    src_abmil = os.path.join(os.path.abspath(src), "abmil")
    root_dir = os.path.dirname(os.path.abspath(src))  # paths in the messages: src/abmil/...
    errors = []
    for name in sorted(os.listdir(src_abmil)):
        folder = os.path.join(src_abmil, name)
        if os.path.isdir(folder) and name not in graph:
            errors.append(f"{os.path.relpath(folder, root_dir)}: folder is not a layer declared in CMakeLists.txt (abmil_add_layer)")
    for layer in sorted(graph):
        allowed = closure(graph, layer)
        folder = os.path.join(src_abmil, layer)
        if not os.path.isdir(folder):
            errors.append(f"{os.path.relpath(folder, root_dir)}: declared layer '{layer}' has no folder")
            continue
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = included_layer(src_abmil, root, m.group(1), m.group(2))
                        if target is None or target in allowed:
                            continue
                        below = ", ".join(sorted(allowed - {layer})) or "none"
                        errors.append(
                            f"{os.path.relpath(path, root_dir)}:{number}: layer '{layer}' includes "
                            f"{m.group(1)}{m.group(2)}{'>' if m.group(1) == '<' else chr(34)} "
                            f"of layer '{target}', which is not below it "
                            f"('{layer}' may use: {below})")
    return errors


def parse_graph(specs):
    graph = {}
    for spec in specs:
        name, _, deps = spec.partition("=")
        graph[name] = [d for d in deps.replace(";", ",").split(",") if d]
    for name, deps in graph.items():
        for dep in deps:
            if dep not in graph:
                sys.exit(f"check_layers.py: layer '{name}' depends on undeclared layer '{dep}'")
    return graph


def self_test():
    """A wrong-way include (quoted, angled and relative) must be reported
    with file, line and layer; the same tree without them must pass."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        files = {
            "abmil/low/a.h": '#pragma once\n#include <string>\n',
            "abmil/low/a.cpp": '#include "abmil/low/a.h"\n',
            "abmil/high/b.h": '#pragma once\n#include "abmil/low/a.h"\n',
            "abmil/high/b.cpp": '#include "abmil/high/b.h"\n#include "../low/a.h"\n',
        }
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
            with open(os.path.join(src, rel), "w") as f:
                f.write(text)
        graph = {"low": [], "high": ["low"]}
        args = [sys.executable, os.path.abspath(__file__), "--src", src, "--layer", "low=", "--layer", "high=low"]
        ok = subprocess.run(args, capture_output=True, text=True)
        if ok.returncode != 0 or check(src, graph):
            print("self-test: a correct tree was rejected:\n" + ok.stdout + ok.stderr)
            return 1
        failures = 0
        for line, include in [(2, '#include "abmil/high/b.h"'), (3, "#include <abmil/high/b.h>"),
                              (4, '  #  include "../high/b.h"')]:
            with open(os.path.join(src, "abmil/low/a.cpp"), "a") as f:
                f.write(include + "\n")
            bad = subprocess.run(args, capture_output=True, text=True)
            want = f"abmil/low/a.cpp:{line}: layer 'low' includes"
            if bad.returncode != 1 or want not in bad.stdout or "of layer 'high'" not in bad.stdout:
                print(f"self-test: not caught: {include}\n{bad.stdout}{bad.stderr}")
                failures += 1
            else:
                print("caught: " + next(l for l in bad.stdout.splitlines() if want in l and f":{line}:" in l))
        os.makedirs(os.path.join(src, "abmil", "stray"))
        stray = subprocess.run(args, capture_output=True, text=True)
        if stray.returncode != 1 or "stray: folder is not a layer" not in stray.stdout:
            print("self-test: undeclared folder not reported\n" + stray.stdout)
            failures += 1
        return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--src", help="the folder holding abmil/<layer>/")
    parser.add_argument("--layer", action="append", default=[], metavar="NAME=DEP,DEP")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if not args.src or not args.layer:
        parser.error("--src and --layer are needed (or --self-test)")
    errors = check(args.src, parse_graph(args.layer))
    for e in errors:
        print(e)
    if errors:
        print(f"check_layers.py: {len(errors)} wrong-way include(s); the layer graph is in CMakeLists.txt")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
