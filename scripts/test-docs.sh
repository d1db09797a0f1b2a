#!/bin/sh
# Builds the documentation site (docs/: the API reference generated from
# include/polleros.h, the guide, the diagrams) in build/docs and checks it:
#
#   - configuring and building the docs target prints no warning, and
#     Doxygen itself fails on any (every public symbol documented, every
#     reference resolved);
#   - the main page, every guide page, the design notes and the reference
#     are in the site;
#   - docs/check_docs.py: every function of the header has its entry, every
#     diagram is rendered and shown, every link inside the site lands,
#     docs/api-notes.dox documents only what the header leaves undocumented,
#     every po_/PO_ name, test case, link and file the guide cites exists,
#     and the benchmark figures it quotes are those the README records.
#
# The last line is "docs: N passed, F failed, 0 skipped"; the exit status is
# non-zero when anything failed.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
. scripts/lib/suite.sh
sh scripts/deps.sh
sh scripts/deps-docs.sh

build=build/docs
site=$build/docs/html
mkdir -p "$build"

no_warnings() { ! grep -i warning "$1" >&2; }

if ! grep -q 'add_subdirectory(docs)' CMakeLists.txt; then
    fail "the top-level CMakeLists.txt does not add docs/ (add_subdirectory(docs))"
    finish docs
fi

if configure . "$build" -DPOLLEROS_BUILD_TESTS=OFF \
    -DPOLLEROS_BUILD_EXAMPLES=OFF -DPOLLEROS_BUILD_DOCS=ON \
    >"$build/configure.log" 2>&1; then
    pass "configure"
else
    cat "$build/configure.log" >&2
    fail "configure"
    finish docs
fi
if no_warnings "$build/configure.log"; then
    pass "configure: no warning"
else
    fail "configure: warnings (above)"
fi

# Diagrams are drawn again, so that their warnings show on every run.
rm -f "$build"/docs/diagrams/*.svg
if cmake --build "$build" --target docs >"$build/docs.log" 2>&1; then
    pass "build the docs target"
else
    cat "$build/docs.log" >&2
    fail "build the docs target"
    finish docs
fi
if no_warnings "$build/docs.log"; then
    pass "build: no warning"
else
    fail "build: warnings (above)"
fi

page() { # file in the site, what it is
    if [ -s "$site/$1" ]; then
        pass "$2 ($1)"
    else
        fail "$2: no $site/$1"
    fi
}
page index.html "the main page"
page polleros_8h.html "the reference of include/polleros.h"
for md in docs/guide/*.md docs/design.md docs/kqueue.md; do
    [ "$md" = docs/guide/README.md ] && continue # the main page
    name=$(echo "${md%.md}" | tr / _)
    page "md_$name.html" "the page of $md"
done
if grep -q '<title>polleros: The polleros guide</title>' "$site/index.html"; then
    pass "the main page is the guide's"
else
    fail "the main page is not docs/guide/README.md"
fi

# The header alone, without api-notes.dox, as XML: which symbols the header
# documents itself (docs/check_docs.py, check "notes").
notes=$build/notes
rm -rf "$notes"
mkdir -p "$notes"
cat >"$notes/Doxyfile" <<EOT
@INCLUDE = "$root/$build/docs/Doxyfile"
INPUT = "$root/include/polleros.h"
USE_MDFILE_AS_MAINPAGE =
OUTPUT_DIRECTORY = "$root/$notes"
GENERATE_HTML = NO
GENERATE_XML = YES
WARN_IF_UNDOCUMENTED = NO
WARN_AS_ERROR = NO
EOT
if doxygen "$notes/Doxyfile" >"$notes/doxygen.log" 2>&1; then
    pass "the header alone, as XML"
else
    cat "$notes/doxygen.log" >&2
    fail "the header alone, as XML"
fi

# One line per check ("ok: NAME: ..."), one per problem ("FAIL: NAME: ...").
status=0
python3 docs/check_docs.py "$root" "$site" "$notes/xml" >"$build/check.log" 2>&1 ||
    status=$?
cat "$build/check.log"
ok=$(grep -c '^ok: ' "$build/check.log" || true)
bad=$(sed -n 's/^FAIL: \([a-z]*\):.*/\1/p' "$build/check.log" | sort -u | wc -l)
if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then
    bad=1 # it did not get as far as reporting
fi
passed=$((passed + ok))
failed=$((failed + bad))
finish docs
