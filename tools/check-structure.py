#!/usr/bin/env python3
"""The house's limits (issue 13), checked over the tracked C sources:

- no file over MAX_FILE lines (generated tables excepted),
- no function over MAX_FUNC lines, except switch tables (one switch holds
  most of the function, and no case is longer than MAX_CASE lines),
- no include circle between the folders of runtime/ (a folder's files may
  include each other; folder A including B and B including A is a circle,
  and so is any longer cycle).

Usage: check-structure.py [repo-dir]. Prints each violation and a summary
line; exit status 1 when there is any.
"""
import os
import re
import subprocess
import sys

MAX_FILE = 900
MAX_FUNC = 120
MAX_CASE = 10
GENERATED = {"runtime/api/icd_table.c"}


def tracked(repo):
    out = subprocess.run(["git", "-C", repo, "ls-files", "*.c", "*.h"], check=True,
                         capture_output=True, text=True).stdout
    return [f for f in out.split() if os.path.exists(os.path.join(repo, f))]


def strip(text):
    """Comments, strings and character literals blanked (newlines kept)."""
    pat = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
    return pat.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


FUNC_HEAD = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(\w+)\s*\([^;{}]*\)\s*$", re.M)


def functions(text):
    """(name, first line, number of lines) of each top-level function body."""
    s = strip(text)
    lines = s.split("\n")
    out = []
    depth = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if depth == 0 and line.startswith("{"):
            # the head is on the lines before: find the name
            j = i - 1
            head = ""
            while j >= 0 and lines[j].strip() and not lines[j].rstrip().endswith((";", "}")):
                head = lines[j] + " " + head
                j -= 1
            m = re.search(r"(\w+)\s*\([^{}]*\)\s*$", head.strip())
            start = i
            d = 0
            k = i
            while k < len(lines):
                d += lines[k].count("{") - lines[k].count("}")
                if d == 0:
                    break
                k += 1
            if m and not re.search(r"\b(struct|enum|union)\s+\w*\s*$", head.strip()):
                out.append((m.group(1), j + 2, k - start + 1, "\n".join(lines[start:k + 1])))
            i = k + 1
            continue
        depth += line.count("{") - line.count("}")
        if depth < 0:
            depth = 0
        i += 1
    return out


def flat_switch(body):
    """A switch table: one switch holds at least 3/4 of the function's lines,
    and none of its cases is longer than MAX_CASE lines."""
    inner = [l.strip() for l in body.split("\n")[1:-1] if l.strip()]
    sw = [i for i, l in enumerate(inner) if l.startswith("switch")]
    if len(sw) != 1:
        return False
    depth = 0
    end = len(inner)
    for i in range(sw[0], len(inner)):
        depth += inner[i].count("{") - inner[i].count("}")
        if depth == 0 and i > sw[0]:
            end = i
            break
    if end - sw[0] < 0.75 * len(inner):
        return False
    lines = 0
    for l in inner[sw[0] + 1:end]:
        if l.startswith(("case ", "default:")):
            lines = 0
            continue
        lines += 1
        if lines > MAX_CASE:
            return False
    return True


def folder(path):
    parts = path.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "runtime" else None


def include_cycles(repo, files):
    edges = {}
    for f in files:
        src = folder(f)
        if not src:
            continue
        with open(os.path.join(repo, f), errors="replace") as fh:
            for m in re.finditer(r'^#include "([\w/.]+)"', fh.read(), re.M):
                dst = m.group(1).split("/")[0] if "/" in m.group(1) else src
                if dst != src and os.path.isdir(os.path.join(repo, "runtime", dst)):
                    edges.setdefault(src, set()).add(dst)
    cycles = []
    state = {}

    def visit(n, stack):
        state[n] = 1
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                cycles.append(stack[stack.index(m):] + [m])
            elif not state.get(m):
                visit(m, stack + [m])
        state[n] = 2

    for n in sorted(edges):
        if not state.get(n):
            visit(n, [n])
    return cycles


def main():
    repo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    files = tracked(repo)
    bad = 0
    longest = (0, "")
    for f in files:
        with open(os.path.join(repo, f), errors="replace") as fh:
            text = fh.read()
        n = text.count("\n")
        if n > MAX_FILE and f not in GENERATED:
            print(f"{f}: {n} lines (limit {MAX_FILE})")
            bad += 1
        for name, line, length, body in functions(text):
            if length > longest[0]:
                longest = (length, f"{f}:{line} {name}()")
            if length > MAX_FUNC and not flat_switch(body):
                print(f"{f}:{line}: {name}() is {length} lines (limit {MAX_FUNC})")
                bad += 1
    for c in include_cycles(repo, files):
        print("include circle between runtime/ folders: " + " -> ".join(c))
        bad += 1
    print(f"check-structure: {len(files)} files, longest function {longest[1]} "
          f"({longest[0]} lines), {bad} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
