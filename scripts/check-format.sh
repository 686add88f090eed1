#!/bin/sh
# Check the C formatting (.clang-format, clang-format 14) of the tracked
# .c/.h files under src/ include/ launchers/ tests/ bench/, as TAP.
#
#   sh scripts/check-format.sh [BASE]
#
# BASE (default: the content of .ci/format-base) is either a commit, and
# then the files changed since that commit are checked, or the word "all",
# and then every tracked file is checked.  With a commit, a second result
# reports the whole tree, as a skip while some files are not formatted yet.
# A failure lists the files; `clang-format -i FILE` fixes them.
# Needs git and clang-format; without them the results are skips.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
base=${1:-$(sed -n '1{s/[[:space:]]//g;p;}' .ci/format-base 2>/dev/null)}
base=${base:-all}
dirs="src include launchers tests bench"

cf=""
for c in clang-format-14 clang-format; do
    command -v "$c" >/dev/null 2>&1 && { cf=$c; break; }
done
echo "1..$([ "$base" = all ] && echo 1 || echo 2)"
if [ -z "$cf" ] || ! git rev-parse --git-dir >/dev/null 2>&1; then
    echo "ok 1 - clang-format # SKIP no clang-format or not a git checkout"
    [ "$base" = all ] || echo "ok 2 - clang-format whole tree # SKIP same"
    exit 0
fi

# print the files of $@ (paths) that clang-format would change
unformatted ()
{
    for f in "$@"; do
        [ -f "$f" ] || continue # deleted since base
        "$cf" --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || echo "$f"
    done
}

# shellcheck disable=SC2086
all=$(git ls-files -- $dirs | grep -E '\.[ch]$')
if [ "$base" = all ]; then
    what="all $(echo "$all" | wc -w) tracked C files"
    files=$all
else
    if ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
        echo "not ok 1 - clang-format: .ci/format-base names $base, not a commit of this history"
        exit 1
    fi
    # shellcheck disable=SC2086
    files=$(git diff --name-only "$base" -- $dirs | grep -E '\.[ch]$')
    what="$(echo "$files" | wc -w) C files changed since $(git rev-parse --short "$base")"
fi
# shellcheck disable=SC2086
bad=$(unformatted $files)
if [ -z "$bad" ]; then
    echo "ok 1 - clang-format: $what"
    rc=0
else
    echo "not ok 1 - clang-format: $(echo "$bad" | wc -w) of $what not formatted (clang-format -i FILE):"
    echo "$bad" | sed 's/^/#   /'
    rc=1
fi
if [ "$base" != all ]; then
    # shellcheck disable=SC2086
    rest=$(unformatted $all | wc -w)
    if [ "$rest" -eq 0 ]; then
        echo "ok 2 - clang-format whole tree: $(echo "$all" | wc -w) files"
    else
        echo "ok 2 - clang-format whole tree # SKIP $rest of $(echo "$all" | wc -w) files not formatted yet (write 'all' in .ci/format-base once they are)"
    fi
fi
exit $rc
