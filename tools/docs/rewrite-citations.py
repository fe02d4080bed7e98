#!/usr/bin/env python3
"""Points every citation of the team's out-of-repository notes at the repository's own docs.

    python3 tools/docs/rewrite-citations.py [--check] [ROOT]

ROOT defaults to the repository this script lives in. Every .java, .md, .py and .sh file under ROOT
(skipping .git/ and every target/ directory, and this script) is rewritten in place:

  the reference spec, "<spec> §X"      -> "docs/reference.md §X"   (same section numbers)
  the reference spec, "<spec> §10"     -> "docs/parity.md"          (its weakness table moved there)
  the DJL gap notes,  "<gaps> §X"      -> "docs/torch-bridge.md §X" (same section numbers)
  the design sketch,  '<design> "Y"'   -> 'docs/architecture.md "Y"' (same heading names)
  mentions of the shared workshop tree -> what the repository has instead (see SHARED_RULES), or removed
                                          with a note printed for each
  (bare file names, without a section, map to the same files)

The old file names are spelled in pieces below so that this script itself never matches a search for
them.

Then it reports, without changing them:
  - bare section citations ("§4.3" with no file named before it on the line), as file:line, with the
    doc the file cites elsewhere as a hint;
  - citations whose section or heading does not exist in the target doc.

--check rewrites nothing and prints what would change. Exit status: 0, or 1 when a mention of the old
names is still left after rewriting (it never should be).
"""

import argparse
import os
import re
import sys
from collections import Counter, defaultdict

SPEC = "merv-reference" + ".md"
GAPS = "djl-gaps" + ".md"
DESIGN = "design" + ".md"
SHARED = ".." + "/shared"

NEW_SPEC = "docs/reference.md"
NEW_GAPS = "docs/torch-bridge.md"
NEW_DESIGN = "docs/architecture.md"
PARITY = "docs/parity.md"

# docs whose bare "§N" name their own sections
OWN_NUMBERING = {NEW_SPEC, NEW_GAPS, NEW_DESIGN}

EXTENSIONS = (".java", ".md", ".py", ".sh")
SKIP_DIRS = {".git", "target"}

# where the workshop copy of a note may be named from: the shared tree's docs/ (relative or absolute), or docs/
PREFIX = r"(?:(?:\.\./)+shared/docs/|/work/shared/docs/|shared/docs/|docs/)?"
SECTION = r"§\d+(?:\.\d+)*"

# (name, compiled pattern, replacement): applied in order, each counted
RULES = [
    # the spec's weakness table now lives in parity.md
    ("spec §10 -> parity", re.compile(PREFIX + re.escape(SPEC) + r"(\}?`?)\s*§10(?!\.?\d)"), PARITY + r"\1"),
    ("spec -> reference", re.compile(PREFIX + re.escape(SPEC)), NEW_SPEC),
    # an assertion message names the class and the note together
    ("Torch/gaps -> Torch and torch-bridge", re.compile(r"Torch/" + re.escape(GAPS)), "Torch and " + NEW_GAPS),
    ("gaps -> torch-bridge", re.compile(PREFIX + re.escape(GAPS)), NEW_GAPS),
    ("design -> architecture", re.compile(PREFIX + r"(?<![\w-])" + re.escape(DESIGN)), NEW_DESIGN),
]

# the shared workshop tree: each known mention and what the repository offers instead
SHARED_RULES = [
    ("shared torch-ref: 'Run in the reference environment'",
     re.compile(r"Run in the reference environment:(\s+)" + re.escape(SHARED) + r"/tools/torch-ref/run\.sh python3"),
     r"Run with a Python 3 that has PyTorch 2.x:\1python3"),
    ("shared torch-ref: bench launcher property",
     re.compile(r"(-Dmerv\.bench\.torchRef=)" + re.escape(SHARED) + r"/tools/torch-ref/run\.sh"),
     r"\1env"),
    ("shared torch-ref: 'run.sh python3' -> 'python3'",
     re.compile(re.escape(SHARED) + r"/tools/torch-ref/run\.sh\s+python3"),
     "python3"),
    ("shared fixtures -> module fixtures",
     re.compile(r"laid out like \{@code shared/fixtures\}"),
     "laid out like a module's {@code src/test/resources/fixtures}"),
]
# anything else under the shared tree: removed, with a note for the reader of the output
SHARED_OTHER = re.compile(r"`?" + re.escape(SHARED) + r"/[^\s`'\")\]}]*`?")

FORBIDDEN = re.compile("|".join(re.escape(x) for x in (SPEC, GAPS, SHARED)) + r"|(?<![\w-])" + re.escape(DESIGN))

# a citation group: a doc name, then sections separated by commas / "and" / ranges
DOC_NAME = r"(?:docs/)?[\w.-]+\.md"
GROUP = re.compile(r"(" + DOC_NAME + r")\}?`?\)?\s*(" + SECTION + r"(?:\s*[-–]\s*" + SECTION.replace("§", "§?")
                   + r")?(?:\s*(?:,|and)\s*" + SECTION + r"(?:\s*[-–]\s*" + SECTION.replace("§", "§?") + r")?)*)")
ANY_SECTION = re.compile(SECTION)
HEADING_CITE = re.compile(re.escape(NEW_DESIGN) + r"\}?`?\s*((?:\"[^\"]+\"(?:\s*(?:,|and)\s*)?)+)")


def repo_root():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", ".."))


def files(root):
    me = os.path.abspath(__file__)
    for d, dirs, names in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS)
        for n in sorted(names):
            p = os.path.join(d, n)
            if n.endswith(EXTENSIONS) and os.path.abspath(p) != me:
                yield p


def headings(path):
    """Section numbers ('4.6') and heading titles of a Markdown doc."""
    numbers, titles = set(), set()
    if not os.path.exists(path):
        return numbers, titles
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"#+\s+(.*?)\s*$", line)
            if not m:
                continue
            title = m.group(1)
            titles.add(title)
            n = re.match(r"(\d+(?:\.\d+)*)\.?\s", title + " ")
            if n:
                numbers.add(n.group(1))
    return numbers, titles


def rewrite(text, counts, notes, rel):
    for name, pat, rep in RULES + SHARED_RULES:
        text, n = pat.subn(rep, text)
        counts[name] += n
    lines = text.split("\n")
    for i, line in enumerate(lines):
        for m in list(SHARED_OTHER.finditer(line)):
            notes.append(f"{rel}:{i + 1}: removed '{m.group(0)}' (outside the repository, nothing here replaces it);"
                         " check the sentence")
            counts["shared: other mention removed"] += 1
        lines[i] = SHARED_OTHER.sub("", line)
    return "\n".join(lines)


def section_numbers(group_text):
    return [s.lstrip("§") for s in re.findall(r"§?\d+(?:\.\d+)*", group_text)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root", nargs="?", default=repo_root())
    ap.add_argument("--check", action="store_true", help="change nothing, print what would change")
    args = ap.parse_args()
    root = os.path.abspath(args.root)

    counts = Counter()
    notes = []
    changed = []
    texts = {}
    for p in files(root):
        rel = os.path.relpath(p, root)
        try:
            with open(p, encoding="utf-8") as f:
                old = f.read()
        except UnicodeDecodeError:
            continue
        new = rewrite(old, counts, notes, rel)
        texts[rel] = new
        if new != old:
            changed.append(rel)
            if not args.check:
                tmp = p + ".rewrite-tmp"
                with open(tmp, "w", encoding="utf-8", newline="") as f:
                    f.write(new)
                os.replace(tmp, p)

    targets = {NEW_SPEC: headings(os.path.join(root, NEW_SPEC)),
               NEW_GAPS: headings(os.path.join(root, NEW_GAPS)),
               NEW_DESIGN: headings(os.path.join(root, NEW_DESIGN))}

    bare, missing, left = [], [], []
    for rel, text in sorted(texts.items()):
        cited_docs = Counter(m.group(1) for m in GROUP.finditer(text))
        hint = cited_docs.most_common(1)[0][0] if cited_docs else None
        for i, line in enumerate(text.split("\n"), 1):
            if FORBIDDEN.search(line):
                left.append(f"{rel}:{i}: {line.strip()}")
            covered = []
            for g in GROUP.finditer(line):
                covered.append(g.span(2))
                doc = g.group(1)
                if not doc.startswith("docs/"):
                    doc = "docs/" + doc
                if doc in (NEW_SPEC, NEW_GAPS):
                    numbers = targets[doc][0]
                    for s in section_numbers(g.group(2)):
                        if s not in numbers:
                            missing.append(f"{rel}:{i}: {doc} has no section {s}")
            for h in HEADING_CITE.finditer(line):
                for title in re.findall(r"\"([^\"]+)\"", h.group(1)):
                    if title not in targets[NEW_DESIGN][1]:
                        missing.append(f"{rel}:{i}: {NEW_DESIGN} has no heading \"{title}\"")
            if rel in OWN_NUMBERING:
                continue  # a doc's references to its own sections
            for s in ANY_SECTION.finditer(line):
                if not any(a <= s.start() < b for a, b in covered):
                    where = f" (this file cites {hint})" if hint else ""
                    bare.append(f"{rel}:{i}: {s.group(0)}{where}: {line.strip()}")

    verb = "would change" if args.check else "changed"
    print(f"{len(texts)} files scanned under {root}; {len(changed)} {verb}")
    for name, _, _ in RULES + SHARED_RULES:
        print(f"  {counts[name]:4d}  {name}")
    if counts["shared: other mention removed"]:
        print(f"  {counts['shared: other mention removed']:4d}  shared: other mention removed")
    for rel in changed:
        print(f"  {verb}: {rel}")
    for n in notes:
        print("NOTE " + n)
    print(f"\n{len(bare)} bare section citations (no file named on the line; left for a person to fix):")
    for b in bare:
        print("  " + b)
    print(f"\n{len(missing)} citations of a section or heading the target doc does not have:")
    for m in missing:
        print("  " + m)
    if left:
        print(f"\n{len(left)} mentions of the old names left (a rule is missing):")
        for x in left:
            print("  " + x)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
