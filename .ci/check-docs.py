#!/usr/bin/env python3
"""Docs are true to the code.

1. Every Swift type name and method name written in backticks in README.md, CLAUDE.md and
   architecture/*.md exists in Sources/, except names listed in architecture/external-names.txt.
2. Every ```swift block is either a snippet of a compiled file, introduced by
   <!-- snippet: PATH#NAME --> and equal (ignoring indentation) to the lines between
   `// snippet: NAME` and `// end-snippet` in PATH (less test assertions between
   `// snippet-pause` and `// snippet-resume`), or a bridging snippet for an outside package,
   introduced by <!-- external: WHAT --> (not compiled: it needs a package we do not depend on).
   A paused line hides test assertions only (`#expect`, `#require` and their continuation lines,
   comments): a paused call into a library would hide a line an embedder needs.
3. Every architecture/diagrams/*.mermaid file, and every ```mermaid block in the docs, parses in
   real Mermaid (the PyPI package mermaidx, pinned by .ci/run); each .mermaid file is embedded in
   at least one Markdown document.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
problems = []

sources = "\n".join(p.read_text(errors="ignore") for p in (root / "Sources").rglob("*.swift"))
docs = [root / "README.md", root / "CLAUDE.md"] + sorted((root / "architecture").rglob("*.md"))
docs = [d for d in docs if d.exists()]
external = set()
allow = root / "architecture" / "external-names.txt"
if allow.exists():
    for line in allow.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        external.update(w for w in line.split() if w)

targets = set(re.findall(r'name:\s*"([^"]+)"', (root / "Package.swift").read_text()))
sources += "\n" + "\n".join(targets)
declared_members = set(re.findall(r"\b(?:func|var|let|case|init|typealias)\s+`?([A-Za-z_][A-Za-z0-9_]*)", sources))
fence = re.compile(r"^```(\w*)\s*$")


def strip_code_blocks(text):
    out, inside = [], False
    for line in text.splitlines():
        if fence.match(line.strip()) or line.strip() == "```":
            inside = not inside
            continue
        if not inside:
            out.append(line)
    return "\n".join(out)


# 1. names in backticks
for doc in docs:
    prose = strip_code_blocks(doc.read_text(errors="ignore"))
    for match in re.finditer(r"`([^`\n]+)`", prose):
        code = match.group(1)
        if re.fullmatch(r"[\w.+\-/]*(/|\.(swift|md|mermaid|txt|svg|csv|json|prom|c|h))", code):
            continue  # a path or file name: paths are checked to exist below
        for name in re.findall(r"\b([A-Z][A-Za-z0-9]+)\b", code):
            if len(name) < 4 or name.isupper() or name in external:
                continue
            if not re.search(r"\b" + re.escape(name) + r"\b", sources):
                problems.append(f"{doc.relative_to(root)}: type `{name}` (in `{code}`) is not in Sources/")
        for name in re.findall(r"(?<![\w$-])([a-z][A-Za-z0-9]*)\(", code):
            if name in external or name in {"max", "min"}:
                continue
            if name not in declared_members:
                problems.append(f"{doc.relative_to(root)}: method `{name}(…)` (in `{code}`) is not declared in Sources/")

# paths named in backticks exist
for doc in docs:
    prose = strip_code_blocks(doc.read_text(errors="ignore"))
    for match in re.finditer(r"`((?:Sources|Tests|architecture|\.ci)/[^`\s]*)`", prose):
        path = match.group(1).split("#")[0]
        if not (root / path).exists():
            problems.append(f"{doc.relative_to(root)}: path `{path}` does not exist")

# 2. swift blocks are snippets of compiled files, or marked external
def snippet(path, name):
    """The lines of snippet NAME in PATH (paused lines left out), and the paused lines that are
    not test assertions; None when the snippet is not found."""
    file = root / path
    if not file.exists():
        return None
    lines, inside, found, paused = [], False, False, False
    hidden = []
    for line in file.read_text().splitlines():
        if re.match(rf"\s*// snippet: {re.escape(name)}\s*$", line):
            inside, found = True, True
            continue
        if inside and re.match(r"\s*// end-snippet\s*$", line):
            break
        # Test assertions sit between these markers; nothing else may.
        if inside and re.match(r"\s*// snippet-pause\s*$", line):
            paused = True
            continue
        if inside and re.match(r"\s*// snippet-resume\s*$", line):
            paused = False
            continue
        if inside and paused:
            hidden.append(line)
        elif inside:
            lines.append(line)
    if not found:
        return None
    return lines, not_assertions(hidden)


ASSERTION = re.compile(r"\s*(?:(?:let|var)\s+\w+\s*=\s*|_\s*=\s*)?(?:try\s+)?(?:await\s+)?#(?:expect|require)\b")


def not_assertions(hidden):
    """The paused lines that are neither a test assertion, a continuation of one, a comment nor
    blank."""
    bad, depth = [], 0
    for line in hidden:
        code = line.split("//", 1)[0].strip()
        if not code:
            continue
        if depth == 0 and not ASSERTION.match(code):
            bad.append(line.strip())
            continue
        depth += code.count("(") + code.count("{") + code.count("[")
        depth -= code.count(")") + code.count("}") + code.count("]")
        depth = max(depth, 0)
    return bad


def normalise(lines):
    import textwrap
    return textwrap.dedent("\n".join(lines)).strip().splitlines()


fix = "--fix" in sys.argv  # rewrite snippet blocks from their sources instead of reporting them
for doc in docs:
    lines = doc.read_text(errors="ignore").splitlines()
    changed = False
    i = 0
    while i < len(lines):
        m = fence.match(lines[i].strip())
        if m and m.group(1):
            lang = m.group(1)
            j = i + 1
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            body = lines[i + 1:j]
            marker = ""
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            if k >= 0:
                marker = lines[k].strip()
            where = f"{doc.relative_to(root)}:{i + 1}"
            if lang == "swift":
                sm = re.match(r"<!--\s*snippet:\s*(\S+)#(\S+)\s*-->", marker)
                if sm:
                    found = snippet(sm.group(1), sm.group(2))
                    expected = found[0] if found else None
                    for hidden in (found[1] if found else []):
                        problems.append(f"{where}: {sm.group(1)}#{sm.group(2)} hides `{hidden}` behind snippet-pause, which may hide test assertions only")
                    if expected is None:
                        problems.append(f"{where}: snippet {sm.group(1)}#{sm.group(2)} not found")
                    elif normalise(expected) != normalise(body):
                        if fix:
                            lines[i + 1:j] = normalise(expected)
                            j = i + 1 + len(normalise(expected))
                            changed = True
                        else:
                            problems.append(f"{where}: swift block differs from {sm.group(1)}#{sm.group(2)} (run .ci/check-docs.py --fix)")
                elif not re.match(r"<!--\s*external:", marker):
                    problems.append(f"{where}: swift block is neither a compiled snippet nor marked external")
            if lang == "mermaid":
                mermaid_blocks = globals().setdefault("mermaid_blocks", [])
                mermaid_blocks.append((where, "\n".join(body)))
            i = j
        i += 1
    if changed:
        doc.write_text("\n".join(lines) + "\n")

# 3. diagrams parse, and each is embedded
try:
    from mermaidx import Diagram  # noqa: E402
except ImportError:
    problems.append("mermaidx is not installed (pip install mermaidx==0.10.1)")
    Diagram = None

blocks = globals().get("mermaid_blocks", [])
diagram_files = sorted((root / "architecture" / "diagrams").glob("*.mermaid")) if (root / "architecture" / "diagrams").exists() else []
to_parse = [(str(p.relative_to(root)), p.read_text()) for p in diagram_files] + blocks
if Diagram is not None:
    for where, source in to_parse:
        try:
            Diagram(source).svg()
        except Exception as error:  # the real Mermaid parser's message
            message = str(error).splitlines()
            problems.append(f"{where}: mermaid does not parse: {' / '.join(message[:4])}")
embedded = {b.strip() for _, b in blocks}
for path in diagram_files:
    if path.read_text().strip() not in embedded:
        problems.append(f"{path.relative_to(root)}: not embedded verbatim in any Markdown document")

# Pure cores: a mechanism's core (every file named *Core*) takes the time as a value, takes no
# closures, takes no locks, allocates no signals and never awaits.
impure = [
    (re.compile(r"\bawait\b"), "awaits"),
    (re.compile(r"\b(NSLock|LockedState|Mutex|Atomic)\b"), "takes a lock"),
    (re.compile(r"\bclock\b|\.now\b"), "reads a clock"),
    (re.compile(r"DeadlineSignal\(\)|Waiter<[^>]*>\(\)"), "allocates a signal"),
    (re.compile(r"(?<!Self)\.(claim|finish|cancel|signal)\("), "calls the embedder or a waiter"),
    (re.compile(r"(^\s*|[(,]\s*)\w+: (@escaping )?(@Sendable )?\([^)]*\) (async )?(throws )?->"), "takes a closure parameter"),
]
core_files = sorted((root / "Sources").glob("*/*/*Core*.swift"))
if not core_files:
    problems.append("no core files found under Sources/*/*/*Core*.swift")
for core in core_files:
    for number, line in enumerate(core.read_text().splitlines(), 1):
        code = line.split("//", 1)[0]
        for pattern, what in impure:
            if pattern.search(code):
                problems.append(f"{core.relative_to(root)}:{number}: a core {what}: {line.strip()}")

if problems:
    print("docs check: %d problem(s)" % len(problems))
    for p in problems:
        print("  " + p)
    sys.exit(1)
print(f"pure cores: {len(core_files)} core files checked")
print(f"docs check: {len(docs)} documents, {len(to_parse)} diagrams parsed, names and snippets true to Sources/")
