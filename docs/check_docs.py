#!/usr/bin/env python3
"""Checks of the documentation that a successful Doxygen run cannot make.

Usage: check_docs.py ROOT HTML_DIR NOTES_XML_DIR

ROOT is the repository, HTML_DIR the generated site, NOTES_XML_DIR the XML
of a Doxygen run over the header alone, without docs/api-notes.dox.  Prints
"ok: NAME: ..." for each check that passed and "FAIL: NAME: ..." for each
problem found, and exits non-zero if any check failed.  scripts/test-docs.sh
runs it.
"""
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET

IDENT = re.compile(r"\b(?:po|PO)_\w+")
CASE_LINE = re.compile(r"^(?:PO|BRIDGE)_CASE\((\w+)\)", re.M)
API_FUNCTION = re.compile(
    r"^(?:PO_API|static inline)\b[^;(]*?\b(po_\w+)\s*\(", re.M)
NOTE = re.compile(r"^\s*\*\s*\\(fn|var|def|typedef|enum)\s+(.+?)\s*$", re.M)
MD_LINK = re.compile(r"(!?)\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`]+)`")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
REPO_PATH = re.compile(
    r"^(?:src|include|tests|examples|bench|scripts|docs|cmake|\.github)/[\w./-]*$")
# A figure: 100 or more, with or without thousands separators.
FIGURE = re.compile(r"(?<![\d,.])(?:\d{1,3}(?:,\d{3})+|[1-9]\d{2,})(?![\d,])")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class Checks:
    def __init__(self):
        self.failed = 0

    def report(self, name, problems, what):
        if problems:
            self.failed += 1
            for p in problems:
                print("FAIL: %s: %s" % (name, p))
        else:
            print("ok: %s: %s" % (name, what))


def guide_files(root):
    return sorted(glob.glob(os.path.join(root, "docs", "guide", "*.md")))


def check_names(root, checks):
    """Every po_/PO_ name the guide uses exists in the header or sources:
    the guide cannot go on naming a call that was renamed or removed."""
    known = set()
    for path in [os.path.join(root, "include", "polleros.h")] + \
            glob.glob(os.path.join(root, "src", "*.[ch]")):
        known.update(IDENT.findall(read(path)))
    problems = []
    count = 0
    for path in guide_files(root):
        for name in sorted(set(IDENT.findall(read(path)))):
            count += 1
            if name not in known:
                problems.append("%s names %s, which the header and src/ do not"
                                % (os.path.relpath(path, root), name))
    checks.report("names", problems,
                  "%d po_/PO_ names in the guide all exist" % count)


def cited_cases(text, tables):
    """The test cases a page cites: with tables, every code span in the last
    column of a table headed "proved by"; elsewhere, a code span right after
    the word "case"."""
    if not tables:
        return re.findall(r"\bcases?\s+`([^`]+)`", text)
    cited = []
    header = None
    for line in FENCE.sub("", text).splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif header[-1] == "proved by" and not line.startswith("| ---"):
            cited += CODE_SPAN.findall(cells[-1])
    return cited


def check_cases(root, checks):
    suite = set(CASE_LINE.findall(read(os.path.join(root, "tests", "cases.h"))))
    bridge = set(CASE_LINE.findall(
        read(os.path.join(root, "wepoll", "test", "bridge_cases.h"))))
    problems = []
    count = 0
    for path in guide_files(root):
        guarantees = os.path.basename(path) == "guarantees.md"
        for name in cited_cases(read(path), guarantees):
            if "*" in name:  # a family ("deadline_*"): its members may change
                continue
            if guarantees and not re.fullmatch(r"(bridge/)?\w+", name):
                problems.append("%s cites `%s`, which is no case name"
                                % (os.path.basename(path), name))
                continue
            count += 1
            known = bridge if name.startswith("bridge/") else suite
            if name.split("/")[-1] not in known:
                problems.append("%s cites the case %s, which does not exist"
                                % (os.path.basename(path), name))
    checks.report("cases", problems,
                  "%d case citations in the guide all exist" % count)


def check_links(root, checks):
    """Relative links work on a repository host too; images are drawn from
    a diagram source; the repository files the guide names exist."""
    problems = []
    count = 0
    for path in guide_files(root):
        text = FENCE.sub("", read(path))
        for span in CODE_SPAN.findall(text):
            if REPO_PATH.match(span):
                count += 1
                if not os.path.exists(os.path.join(root, span)):
                    problems.append("%s names %s, which does not exist"
                                    % (os.path.basename(path), span))
        for image, target in MD_LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue
            count += 1
            target = target.split("#")[0]
            if image:
                src = os.path.join(root, "docs", "diagrams",
                                   os.path.splitext(target)[0] + ".dot")
                if not os.path.isfile(src):
                    problems.append("%s shows %s, which no diagram source makes"
                                    % (os.path.basename(path), target))
            elif not os.path.isfile(os.path.join(os.path.dirname(path), target)):
                problems.append("%s links to %s, which does not exist"
                                % (os.path.basename(path), target))
    checks.report("links", problems,
                  "%d links, images and file names resolve" % count)


def check_figures(root, checks):
    """The measured figures the guide quotes are those of the benchmark run
    the README records: a new run makes the page fail until it is updated."""
    readme = read(os.path.join(root, "README.md"))
    page = os.path.join(root, "docs", "guide", "reconciliation.md")
    figures = set(FIGURE.findall(FENCE.sub("", read(page))))
    problems = ["reconciliation.md quotes %s, which README.md does not" % f
                for f in sorted(figures)
                if not re.search(r"(?<![\d,])%s(?![\d,])" % re.escape(f),
                                 readme)]
    checks.report("figures", problems,
                  "%d figures in reconciliation.md match the README's run"
                  % len(figures))


def check_diagrams(root, html, checks):
    """Each diagram is rendered into the site and shown on some page."""
    pages = "".join(read(p) for p in glob.glob(os.path.join(html, "*.html")))
    problems = []
    sources = sorted(glob.glob(os.path.join(root, "docs", "diagrams", "*.dot")))
    for src in sources:
        svg = os.path.splitext(os.path.basename(src))[0] + ".svg"
        out = os.path.join(html, svg)
        if not os.path.isfile(out) or "<svg" not in read(out):
            problems.append("%s is not in the site" % svg)
        elif 'data="%s"' % svg not in pages and 'src="%s"' % svg not in pages:
            problems.append("%s is on no page" % svg)
    checks.report("diagrams", problems,
                  "%d diagrams rendered and shown" % len(sources))


def check_reference(root, html, checks):
    """Every function of the header has its entry in the reference."""
    header = read(os.path.join(root, "include", "polleros.h"))
    page = read(os.path.join(html, "polleros_8h.html"))
    functions = API_FUNCTION.findall(header)
    problems = ["%s has no entry in polleros_8h.html" % f for f in functions
                if not re.search(r">%s</a>" % re.escape(f), page)]
    checks.report("reference", problems,
                  "%d functions of the header in the reference" % len(functions))


def check_anchors(html, checks):
    """Every link inside the site lands on a page and an anchor that exist."""
    ids = {}
    links = []
    for path in glob.glob(os.path.join(html, "*.html")):
        page = os.path.basename(path)
        text = read(path)
        ids[page] = set(re.findall(r'\b(?:id|name)="([^"]+)"', text))
        links += [(page, h) for h in re.findall(r'\bhref="([^"]+)"', text)]
    problems = set()
    for page, href in links:
        if re.match(r"[a-z]+:", href) or href.startswith("javascript"):
            continue
        target, _, anchor = href.partition("#")
        target = target or page
        if target.endswith(".html") and target not in ids:
            problems.add("%s links to %s, which is not in the site"
                         % (page, target))
        elif anchor and target in ids and anchor not in ids[target]:
            problems.add("%s links to %s#%s, which has no such anchor"
                         % (page, target, anchor))
    checks.report("anchors", sorted(problems),
                  "%d links inside the site all land" % len(links))


def documented(elem):
    text = ""
    for tag in ("briefdescription", "detaileddescription"):
        part = elem.find(tag)
        if part is not None:
            text += "".join(part.itertext())
    return text.strip() != ""


def check_notes(root, xml_dir, checks):
    """api-notes.dox documents only what the header leaves undocumented,
    so that no symbol is documented twice, in two places that can drift."""
    members = []  # (scope, name, element) from the header alone
    for path in glob.glob(os.path.join(xml_dir, "*.xml")):
        tree = ET.parse(path)
        for compound in tree.getroot().iter("compounddef"):
            scope = compound.findtext("compoundname")
            for m in compound.iter("memberdef"):
                members.append((scope, m.findtext("name"), m))
            for v in compound.iter("enumvalue"):
                members.append((scope, v.findtext("name"), v))
    problems = []
    notes = NOTE.findall(read(os.path.join(root, "docs", "api-notes.dox")))
    for kind, decl in notes:
        if kind == "fn":
            name = re.search(r"(\w+)\s*\(", decl).group(1)
        else:
            name = decl.split()[-1]
        scope, _, name = name.rpartition("::")
        found = [e for s, n, e in members
                 if n == name and (not scope or s == scope)]
        label = "%s::%s" % (scope, name) if scope else name
        if not found:
            problems.append("api-notes.dox documents %s, which the header "
                            "does not declare" % label)
        elif any(documented(e) for e in found):
            problems.append("the header documents %s itself now: remove it "
                            "from docs/api-notes.dox" % label)
    checks.report("notes", problems,
                  "%d symbols in api-notes.dox, none documented by the header"
                  % len(notes))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[2])
    root, html, xml_dir = sys.argv[1:]
    checks = Checks()
    check_reference(root, html, checks)
    check_diagrams(root, html, checks)
    check_anchors(html, checks)
    check_notes(root, xml_dir, checks)
    check_names(root, checks)
    check_cases(root, checks)
    check_links(root, checks)
    check_figures(root, checks)
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
