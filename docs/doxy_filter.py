#!/usr/bin/env python3
"""Doxygen input filter for include/polleros.h.

The header documents itself in plain C comments, written for people reading
the header.  Doxygen reads only its own comment forms, so this filter turns
the header's conventions into them at build time, leaving the header as it
is:

  - the first comment of the file, before any code, documents the file;
  - a comment on the line directly above a declaration documents it;
  - a comment after code on the same line documents that code (a member,
    an enumerator, a macro);
  - a comment that lists members ("NAME  text" or "name: text", with
    continuation lines indented deeper) documents each listed member of the
    enum or struct that follows it, unless the member has its own comment;
  - in a documenting comment, a list the header lays out by indentation
    ("NAME  text", "name: text" or "A. text", continued on deeper lines)
    becomes a list, so that it does not run together into one paragraph;
  - a "/* ---- */" rule followed by a one-line title starts a section, shown
    as a member group under that title.

Every other comment stays a plain comment.  The output has exactly the
input's lines, so Doxygen's warnings point at the header's real lines.

Usage: doxy_filter.py FILE   (Doxygen passes the file; output on stdout)
"""
import re
import sys

ENTRY = re.compile(r"^(\s*)([A-Za-z_]\w*)(?::\s+|\s{2,})(\S.*)$")
STEP = re.compile(r"^(\s*)[A-Z0-9]\.\s+\S")
FUNC_PTR_MEMBER = re.compile(r"\(\s*\*\s*(\w+)\s*\)")
DATA_MEMBER = re.compile(r"(\w+)\s*(?:\[[^\]]*\])?\s*;\s*$")
ENUMERATOR = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:=.*)?,?\s*$")
RULE = re.compile(r"^/\*\s*-+\s*\*/$")


def comment_spans(text):
    """(start, end) offsets of each /* */ comment, end past the '*/'."""
    spans = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":  # a literal: its contents are not comments
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            spans.append((i, j))
            i = j
        else:
            i += 1
    return spans


def gutter(line):
    """Where the text of a comment line starts, past any ' * ' gutter."""
    m = re.match(r"^\s*\*(?!/) ?", line)
    return m.end() if m else 0


def comment_lines(body):
    """A comment's text lines without the delimiters and the ' * ' gutter."""
    out = []
    for line in body[2:-2].split("\n"):
        out.append(line[gutter(line):].rstrip())
    return out


def list_runs(lines):
    """The lists among a comment's lines: for each, the (first line, indent)
    of every item and the last line of the last item."""
    def lead(line):
        return len(line) - len(line.lstrip())
    texts = [l for l in lines if l.strip()]
    base = min((lead(l) for l in texts), default=0)
    runs = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        item = line.strip() and (ENTRY.match(line) or STEP.match(line)) and (
            lead(line) > base or (nxt.strip() and lead(nxt) > lead(line)))
        if not item:
            i += 1
            continue
        end = i + 1
        while end < len(lines) and lines[end].strip() and \
                lead(lines[end]) > lead(line):
            end += 1
        if runs and runs[-1][1] == i - 1 and runs[-1][0][0][1] == lead(line):
            runs[-1][0].append((i, lead(line)))
            runs[-1][1] = end - 1
        else:
            runs.append([[(i, lead(line))], end - 1])
        i = end
    return runs


def member_entries(body):
    """{name: text} for the members a comment lists."""
    entries = {}
    name, indent, words = None, 0, []
    for line in comment_lines(body) + [""]:
        lead = len(line) - len(line.lstrip())
        if name is not None and line.strip() and lead > indent:
            words.append(line.strip())
            continue
        if name is not None:
            entries[name] = " ".join(words)
            name = None
        m = ENTRY.match(line)
        if m:
            name, indent, words = m.group(2), len(m.group(1)), [m.group(3)]
    return entries


def member_name(code):
    """The member a line of a struct or enum body declares, if any."""
    code = code.strip()
    if not code or code.startswith("#") or code in ("{", "}"):
        return None
    m = FUNC_PTR_MEMBER.search(code)
    if m:
        return m.group(1)
    m = DATA_MEMBER.search(code)
    if m:
        return m.group(1)
    m = ENUMERATOR.match(code)
    return m.group(1) if m else None


class Header:
    def __init__(self, text):
        self.lines = text.split("\n")
        starts, pos = [], 0
        for line in self.lines:
            starts.append(pos)
            pos += len(line) + 1
        self.starts = starts
        self.edits = {}  # line -> [(col_from, col_to, replacement)]
        self.appends = {}  # line -> text to add at its end

    def locate(self, offset):
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo, offset - self.starts[lo]

    def replace(self, offset, length, new):
        line, col = self.locate(offset)
        self.edits.setdefault(line, []).append((col, col + length, new))

    def insert(self, line, col, new):
        self.edits.setdefault(line, []).append((col, col, new))

    def append(self, line, new):
        self.appends[line] = self.appends.get(line, "") + new

    def render(self):
        out = []
        for i, line in enumerate(self.lines):
            for a, b, new in sorted(self.edits.get(i, []), reverse=True):
                line = line[:a] + new + line[b:]
            out.append(line + self.appends.get(i, ""))
        return "\n".join(out)


def code_of(line, comment_cols):
    """The line without the comments that start on it."""
    for a in sorted(comment_cols, reverse=True):
        line = line[:a]
    return line


def make_lists(h, start, body):
    """Turns the lists of the comment at offset start into HTML lists: a
    Markdown list would run on into the less indented text after it."""
    line0, col0 = h.locate(start)
    raw = body.split("\n")
    for items, last in list_runs(comment_lines(body)):
        for n, (k, indent) in enumerate(items):
            # The first line's text starts after "/*", the others after
            # the gutter.
            col = (col0 + 2 if k == 0 else gutter(raw[k])) + indent
            h.insert(line0 + k, col, "<ul><li>" if n == 0 else "<li>")
        end = line0 + last
        if last == len(raw) - 1:  # closed on the comment's own last line
            h.insert(end, h.lines[end].rindex("*/"), "</ul> ")
        else:
            h.append(end, "</ul>")


def filter_header(text):
    h = Header(text)
    spans = comment_spans(text)
    # Which lines hold code, where comments start on each line, and which
    # lines end a comment that has a line of its own.
    starts_on = {}
    in_comment = set()
    own_line_ends = set()
    for a, b in spans:
        la, ca = h.locate(a)
        lb, _ = h.locate(b - 1)
        starts_on.setdefault(la, []).append(ca)
        in_comment.update(range(la + 1, lb + 1))
        if not h.lines[la][:ca].strip():
            own_line_ends.add(lb)
    # C++-only lines (extern "C" and its brace) are not seen by Doxygen,
    # which reads the header as C: they must not count as braces either.
    cplusplus = set()
    level = 0
    for i, line in enumerate(h.lines):
        if level:
            if re.match(r"\s*#\s*if", line):
                level += 1
            elif re.match(r"\s*#\s*endif", line):
                level -= 1
            cplusplus.add(i)
        elif re.match(r"\s*#\s*if(def)?\b.*__cplusplus", line):
            level = 1
            cplusplus.add(i)

    def code(i):
        if i in in_comment or i in cplusplus:
            return ""
        return code_of(h.lines[i], starts_on.get(i, []))

    group_open = False
    last_decl = None  # last line ending a declaration at file scope
    depth = 0
    pending_entries = {}
    seen_code = False
    rule_line = None
    spans_at = {}
    for a, b in spans:
        spans_at.setdefault(h.locate(a)[0], []).append((a, b))

    for i, line in enumerate(h.lines):
        for a, b in spans_at.get(i, []):
            body = text[a:b]
            col = h.locate(a)[1]
            before = line[:col]
            end_line, end_col = h.locate(b - 1)
            after = h.lines[end_line][end_col + 1:].strip()
            nxt = h.lines[end_line + 1] if end_line + 1 < len(h.lines) else ""
            if body.startswith("/**") or body.startswith("/*!"):
                pass  # already Doxygen's
            elif before.strip():
                if not before.lstrip().startswith("#") or re.match(
                        r"\s*#\s*define\b", before):
                    h.replace(a, 2, "/**<")
            elif not seen_code and not after:
                h.replace(a, 2, "/** \\file")
            elif RULE.match(body) and end_line == i:
                rule_line = i
                if group_open:
                    h.replace(a, b - a, "/** @} */")
                    group_open = False
            elif rule_line == i - 1 and end_line == i and not after:
                title = " ".join(body[2:-2].split())
                h.replace(a, b - a, "/** \\name %s */ /** @{ */" % title)
                group_open = True
            elif after or (nxt.strip() and not nxt.lstrip().startswith("/*")):
                h.replace(a, 2, "/**")
                pending_entries = member_entries(body)
                make_lists(h, a, body)
        c = code(i).strip()
        if not c:
            if not h.lines[i].strip() and depth == 0:
                pending_entries = {}
            continue
        seen_code = True
        if depth > 0 and pending_entries and i not in starts_on and \
                i - 1 not in own_line_ends:
            name = member_name(c)
            if name in pending_entries:
                h.append(i, " /**< %s */" % pending_entries[name])
        depth += c.count("{") - c.count("}")
        if depth == 0 and (c.endswith(";") or c.endswith("}")):
            last_decl = i
    if group_open and last_decl is not None:
        h.append(last_decl, " /** @} */")
    return h.render()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    sys.stdout.write(filter_header(text))


if __name__ == "__main__":
    main()
