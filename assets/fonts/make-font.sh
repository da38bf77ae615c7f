#!/usr/bin/env bash
# Rebuilds assets/fonts/NotoSansCJKsc-Regular-Onsite.otf, the one font onsite-docs embeds.
#
# Source: Noto Sans CJK SC Regular (SIL Open Font License 1.1, see OFL.txt beside this
# script), taken from Debian's fonts-noto-cjk package, face 2 of NotoSansCJK-Regular.ttc.
# printpdf must never be handed the collection itself (under text_layout it takes face 0,
# the Japanese glyph forms), so this script extracts the SC face as a single-face OTF and
# keeps only the Unicode ranges the documents need:
#   ASCII, Latin-1, Latin Extended-A (European names), General Punctuation,
#   Letterlike Symbols, Number Forms and Arrows (℃ № Ⅱ →), Mathematical Operators
#   (≥ ≤ ×), Enclosed Alphanumerics (① ②), Geometric Shapes (□ is printed for characters the font lacks), CJK Symbols and
#   Punctuation, the WHOLE CJK Unified Ideographs block U+4E00-9FFF (GB2312 alone lacks
#   name characters such as 喆 玥 堃 昇 彧), and Halfwidth and Fullwidth Forms (incl. ￥).
# Outlines stay CID-keyed CFF; hinting is kept; OpenType layout tables are dropped
# (the renderer does no shaping).
#
# Needs: apt-get install fonts-noto-cjk ; pip install 'fonttools==4.68.0'
# Usage: assets/fonts/make-font.sh            (writes next to this script)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
src="${NOTO_CJK_TTC:-/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc}"
# Debian bookworm fonts-noto-cjk 1:20220127+repack1-1.
src_sha256="b76b0433203017ca80401b2ee0dd69350349871c4b19d504c34dbdd80541690a"
fonttools_version="4.68.0"
out="$here/NotoSansCJKsc-Regular-Onsite.otf"
face=2

if [[ ! -f "$src" ]]; then
  echo "make-font: $src not found (apt-get install fonts-noto-cjk)" >&2
  exit 1
fi
actual="$(sha256sum "$src" | cut -d' ' -f1)"
if [[ "$actual" != "$src_sha256" ]]; then
  echo "make-font: $src is not the expected fonts-noto-cjk build" >&2
  echo "  expected sha256 $src_sha256" >&2
  echo "  found           $actual" >&2
  echo "  (set MAKE_FONT_ANY_SOURCE=1 to build from it anyway; the output will differ)" >&2
  [[ "${MAKE_FONT_ANY_SOURCE:-0}" == 1 ]] || exit 1
fi
if ! command -v pyftsubset >/dev/null; then
  echo "make-font: pyftsubset not found (pip install 'fonttools==$fonttools_version')" >&2
  exit 1
fi
have="$(python3 -c 'import fontTools; print(fontTools.version)')"
if [[ "$have" != "$fonttools_version" ]]; then
  echo "make-font: warning: fonttools $have, the committed font was made with $fonttools_version" >&2
fi

# Check that the face we take really is the Simplified Chinese one.
family="$(python3 - "$src" "$face" <<'PY'
import sys
from fontTools.ttLib import TTFont
f = TTFont(sys.argv[1], fontNumber=int(sys.argv[2]), lazy=True)
print(f["name"].getDebugName(6))
PY
)"
if [[ "$family" != "NotoSansCJKsc-Regular" ]]; then
  echo "make-font: face $face is $family, expected NotoSansCJKsc-Regular" >&2
  exit 1
fi

unicodes="U+0020-007E,U+00A0-00FF,U+0100-017F,U+2000-206F,U+2100-21FF,U+2200-22FF,U+2460-24FF,U+25A0-25FF,U+3000-303F,U+4E00-9FFF,U+FF00-FFEF"

tmp="$(mktemp "$here/.make-font.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
# fonttools stamps head.modified with the current time even with --recalc-timestamp=false;
# pin it to the source face's own timestamp (2021-04-29 16:24:21 UTC) so reruns are
# byte-identical.
SOURCE_DATE_EPOCH=1619713461 pyftsubset "$src" \
  --font-number="$face" \
  --unicodes="$unicodes" \
  --layout-features='' \
  --drop-tables+=GSUB,GPOS,GDEF,BASE,VORG,vhea,vmtx,DSIG \
  --name-IDs='*' --name-languages='*' --name-legacy \
  --notdef-outline \
  --recalc-timestamp=false \
  --output-file="$tmp"
chmod 644 "$tmp"
mv "$tmp" "$out"
trap - EXIT

python3 - "$out" <<'PY'
import sys
from fontTools.ttLib import TTFont
f = TTFont(sys.argv[1])
cmap = f.getBestCmap()
missing = [c for c in range(0x4E00, 0xA000) if c not in cmap]
for ch in "王伟欧阳玥喆堃昇彧祎珺旻¥￥，。、：；（）":
    assert ord(ch) in cmap, f"missing {ch}"
print(f"make-font: wrote {sys.argv[1]}: {len(cmap)} characters, "
      f"{f['maxp'].numGlyphs} glyphs, CJK block gaps: {len(missing)}")
PY
ls -l "$out"
sha256sum "$out"
