#!/bin/bash
# Builds etcd-tlsproxy_*.deb from the working tree (committed and untracked,
# not ignored, files) without touching it:
#   packaging/build-deb.sh OUTDIR
# copies the tree to a temporary directory, puts packaging/debian at debian/,
# runs `dpkg-buildpackage -b -us -uc` there, and copies the .deb files to
# OUTDIR. Prints the path of the etcd-tlsproxy .deb on the last line.
# DEB_BUILD_OPTIONS defaults to "parallel=<cores> nocheck".
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/etcd-tlsproxy-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$work/etcd-tlsproxy"
mkdir "$src"

# Only source files: build directories are ignored by .gitignore, and files
# deleted in the working tree but not yet committed are skipped.
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$root" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do
      [ -f "$root/$f" ] && printf '%s\0' "$f"
    done |
    tar -C "$root" --null -T - -cf - | tar -C "$src" -xf -
else
  tar -C "$root" --exclude='./build*' --exclude='./out' --exclude='./.git' -cf - . |
    tar -C "$src" -xf -
fi
rm -rf "$src/debian"
cp -a "$src/packaging/debian" "$src/debian"

export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc) nocheck}"
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1 || {
  tail -n 60 "$work/build.log" >&2
  echo "$0: dpkg-buildpackage failed (last 60 lines above)" >&2
  exit 1
}

shopt -s nullglob
debs=("$work"/*.deb)
if [ ${#debs[@]} -eq 0 ]; then
  echo "$0: dpkg-buildpackage made no .deb" >&2
  exit 1
fi
cp "${debs[@]}" "$out/"
for deb in "${debs[@]}"; do
  case "$(basename "$deb")" in
    etcd-tlsproxy_*.deb) main="$out/$(basename "$deb")" ;;
  esac
done
echo "${main:?no etcd-tlsproxy_*.deb among ${debs[*]}}"
