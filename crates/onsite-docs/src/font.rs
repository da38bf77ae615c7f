//! The one embedded font (Noto Sans CJK SC, a single-face subset made by
//! `assets/fonts/make-font.sh`), its metrics for measuring text, and the per-document
//! subsetting that keeps each PDF small.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::LazyLock;

use allsorts::binary::read::ReadScope;
use allsorts::font_data::FontData;
use allsorts::subset::{subset, CmapTarget, SubsetProfile};
use allsorts::tables::cmap::Cmap;
use allsorts::tables::{FontTableProvider, HeadTable, HheaTable, HmtxTable, MaxpTable};
use allsorts::tag;
use sha2::{Digest, Sha256};

use crate::DocsError;

/// Noto Sans CJK SC Regular (SIL OFL 1.1, see `assets/fonts/OFL.txt`).
pub(crate) static FONT_BYTES: &[u8] =
    include_bytes!("../../../assets/fonts/NotoSansCJKsc-Regular-Onsite.otf");

/// PostScript name of the face, used (with a subset tag) as the PDF /BaseFont.
const POSTSCRIPT_NAME: &str = "NotoSansCJKsc-Regular";

/// Printed once where a run of characters the font has no glyph for (an emoji, a rare
/// ideograph outside the Basic Multilingual Plane) was left out, so that nothing prints as
/// an empty box and the gap stays visible. Every character of it is in the font; a
/// footnote in the document's language says what it means.
pub(crate) const OMITTED_MARK: &str = "[…]";

/// Parts of an emoji sequence that draw nothing by themselves: zero-width joiner,
/// variation selectors, skin-tone modifiers, tag characters, the combining keycap. Left out
/// without a mark after a character that prints (❤️ prints as ❤), and taken into the mark
/// of a run that does not (👩‍🔧 is one mark).
fn is_emoji_part(c: char) -> bool {
    matches!(c as u32,
        0x200D | 0x20E3 | 0xFE00..=0xFE0F | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F | 0xE0100..=0xE01EF)
}

/// Character-to-glyph map and advances of the embedded font, parsed once.
pub(crate) struct Metrics {
    /// Glyph id for every BMP code point (0 = not in the font).
    bmp_glyph: Vec<u16>,
    /// Advance width of every glyph, in font units.
    advance: Vec<u16>,
    units_per_em: f32,
}

static METRICS: LazyLock<Result<Metrics, String>> = LazyLock::new(|| parse_metrics(FONT_BYTES));

pub(crate) fn metrics() -> Result<&'static Metrics, DocsError> {
    METRICS
        .as_ref()
        .map_err(|e| DocsError::Font(format!("embedded font unreadable: {e}")))
}

fn parse_metrics(bytes: &[u8]) -> Result<Metrics, String> {
    let data = ReadScope::new(bytes)
        .read::<FontData<'_>>()
        .map_err(|e| e.to_string())?;
    let provider = data.table_provider(0).map_err(|e| e.to_string())?;
    let read = |t: u32| provider.read_table_data(t).map_err(|e| e.to_string());

    let head_data = read(tag::HEAD)?;
    let head = ReadScope::new(&head_data)
        .read::<HeadTable>()
        .map_err(|e| e.to_string())?;
    let maxp_data = read(tag::MAXP)?;
    let maxp = ReadScope::new(&maxp_data)
        .read::<MaxpTable>()
        .map_err(|e| e.to_string())?;
    let hhea_data = read(tag::HHEA)?;
    let hhea = ReadScope::new(&hhea_data)
        .read::<HheaTable>()
        .map_err(|e| e.to_string())?;
    let hmtx_data = read(tag::HMTX)?;
    let hmtx = ReadScope::new(&hmtx_data)
        .read_dep::<HmtxTable<'_>>((
            usize::from(maxp.num_glyphs),
            usize::from(hhea.num_h_metrics),
        ))
        .map_err(|e| e.to_string())?;
    let advance = (0..maxp.num_glyphs)
        .map(|gid| hmtx.horizontal_advance(gid).unwrap_or(0))
        .collect();

    let cmap_data = read(tag::CMAP)?;
    let cmap = ReadScope::new(&cmap_data)
        .read::<Cmap<'_>>()
        .map_err(|e| e.to_string())?;
    let (_, subtable) = allsorts::font::read_cmap_subtable(&cmap)
        .map_err(|e| e.to_string())?
        .ok_or("no Unicode cmap")?;
    let mut bmp_glyph = vec![0u16; 0x1_0000];
    subtable
        .mappings_fn(|cp, gid| {
            if let Some(slot) = bmp_glyph.get_mut(cp as usize) {
                *slot = gid;
            }
        })
        .map_err(|e| e.to_string())?;

    Ok(Metrics {
        bmp_glyph,
        advance,
        units_per_em: f32::from(head.units_per_em),
    })
}

impl Metrics {
    pub(crate) fn glyph(&self, c: char) -> Option<u16> {
        match self.bmp_glyph.get(c as usize) {
            Some(0) | None => None,
            Some(g) => Some(*g),
        }
    }

    /// `text` as the font can print it, and whether anything was left out: each run of
    /// characters without a glyph becomes one [`OMITTED_MARK`], control characters other
    /// than newlines become spaces. The result prints as it is (this is idempotent).
    pub(crate) fn printable_text<'a>(&self, text: &'a str) -> (Cow<'a, str>, bool) {
        let clean = |c: char| c == '\n' || c == ' ' || (!c.is_control() && self.glyph(c).is_some());
        if text.chars().all(clean) {
            return (Cow::Borrowed(text), false);
        }
        let mut out = String::with_capacity(text.len() + 8);
        let mut in_gap = false;
        let mut omitted = false;
        for c in text.chars() {
            if c == '\n' || c == ' ' || (!c.is_control() && self.glyph(c).is_some()) {
                out.push(c);
                in_gap = false;
            } else if c.is_control() {
                out.push(' ');
                in_gap = false;
            } else if is_emoji_part(c) {
                // Part of the run being left out, or a modifier of a character that printed.
            } else if !in_gap {
                out.push_str(OMITTED_MARK);
                in_gap = true;
                omitted = true;
            }
        }
        (Cow::Owned(out), omitted)
    }

    /// Advance of one character in em.
    pub(crate) fn char_em(&self, c: char) -> f32 {
        let gid = self.glyph(c).unwrap_or(0);
        f32::from(self.advance.get(usize::from(gid)).copied().unwrap_or(0)) / self.units_per_em
    }

    /// Width of `text` in em.
    pub(crate) fn text_em(&self, text: &str) -> f32 {
        text.chars().map(|c| self.char_em(c)).sum()
    }
}

/// A per-document subset of the embedded font, ready for printpdf.
pub(crate) struct SubsetFont {
    pub(crate) parsed: printpdf::ParsedFont,
}

/// Subset the embedded font to the characters of one document.
///
/// The subset keeps glyph 0 and the glyphs of `chars` (in ascending original glyph
/// order, so the result depends only on the set of characters), CID-keyed CFF outlines
/// and a Unicode cmap. printpdf then embeds it as a bare CFF (FontFile3/CIDFontType0C)
/// with Identity-H codes taken from the subset's charset. The PDF font name carries a
/// subset tag derived from the glyph set, as ISO 32000 asks for subset fonts.
pub(crate) fn subset_for(chars: &BTreeSet<char>) -> Result<SubsetFont, DocsError> {
    let m = metrics()?;
    let mut gids: Vec<u16> = chars.iter().filter_map(|c| m.glyph(*c)).collect();
    gids.push(0);
    gids.sort_unstable();
    gids.dedup();

    let data = ReadScope::new(FONT_BYTES)
        .read::<FontData<'_>>()
        .map_err(|e| DocsError::Font(e.to_string()))?;
    let provider = data
        .table_provider(0)
        .map_err(|e| DocsError::Font(e.to_string()))?;
    let bytes = subset(&provider, &gids, &SubsetProfile::Pdf, CmapTarget::Unicode)
        .map_err(|e| DocsError::Font(format!("subsetting failed: {e}")))?;

    let mut warnings = Vec::new();
    let mut parsed = printpdf::ParsedFont::from_bytes(&bytes, 0, &mut warnings)
        .ok_or_else(|| DocsError::Font("subset font unreadable".into()))?;
    parsed.font_name = Some(format!("{}+{POSTSCRIPT_NAME}", subset_tag(&gids)));
    Ok(SubsetFont { parsed })
}

/// Six upper-case letters derived from the glyph set (ISO 32000-1, 9.6.4).
fn subset_tag(gids: &[u16]) -> String {
    let mut h = Sha256::new();
    for g in gids {
        h.update(g.to_be_bytes());
    }
    h.finalize()
        .iter()
        .take(6)
        .map(|b| char::from(b'A' + b % 26))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_is_the_simplified_chinese_face_with_the_whole_cjk_block() {
        let m = metrics().unwrap();
        // Name characters GB2312 lacks must be present.
        for c in "喆玥堃昇彧祎珺旻王伟欧阳".chars() {
            assert!(m.glyph(c).is_some(), "missing {c}");
        }
        for c in "¥￥，。、：；（）—…·".chars() {
            assert!(m.glyph(c).is_some(), "missing {c}");
        }
        let covered = (0x4E00u32..=0x9FFF)
            .filter_map(char::from_u32)
            .filter(|c| m.glyph(*c).is_some())
            .count();
        assert!(covered > 20_900, "only {covered} CJK ideographs");
        // CJK ideographs are full width, Latin is proportional.
        assert!((m.char_em('王') - 1.0).abs() < 1e-3);
        assert!(m.char_em('i') < m.char_em('W'));
        assert!(m.glyph('\u{1F600}').is_none());
        for c in OMITTED_MARK.chars() {
            assert!(m.glyph(c).is_some(), "the omission mark needs {c:?}");
        }
    }

    #[test]
    fn characters_without_a_glyph_are_left_out_with_one_mark_per_run() {
        let m = metrics().unwrap();
        let p = |s: &str| {
            let (t, omitted) = m.printable_text(s);
            (t.into_owned(), omitted)
        };
        assert_eq!(p("王伟 ok"), ("王伟 ok".to_string(), false));
        assert!(matches!(
            m.printable_text("plain"),
            (Cow::Borrowed(_), false)
        ));
        assert_eq!(p("很好😀"), ("很好[…]".to_string(), true));
        // A run of emoji, a ZWJ sequence, a flag, skin tones: one mark each run.
        assert_eq!(p("ok 😀😀👍🏽!"), ("ok […]!".to_string(), true));
        assert_eq!(p("技师👩\u{200D}🔧到了"), ("技师[…]到了".to_string(), true));
        assert_eq!(p("🇨🇳 中国"), ("[…] 中国".to_string(), true));
        // Separate runs get separate marks; the text around them is intact.
        assert_eq!(p("a😀b😀c"), ("a[…]b[…]c".to_string(), true));
        // Ext-B ideographs are beyond the font too.
        assert_eq!(p("吉\u{20BB7}祥"), ("吉[…]祥".to_string(), true));
        // A variation selector after a character that prints is dropped without a mark.
        let heart = p("\u{2764}\u{FE0F}");
        if m.glyph('\u{2764}').is_some() {
            assert_eq!(heart, ("\u{2764}".to_string(), false));
        } else {
            assert_eq!(heart, ("[…]".to_string(), true));
        }
        // Controls become spaces, newlines stay; the result is printable as it is.
        assert_eq!(p("a\tb\nc"), ("a b\nc".to_string(), false));
        let (once, _) = p("x😀y");
        assert_eq!(p(&once), (once.clone(), false));
    }

    #[test]
    fn subset_is_small_and_tagged() {
        let chars: BTreeSet<char> = "王伟 Margaret O'Donnell ¥12.34".chars().collect();
        let s = subset_for(&chars).unwrap();
        let name = s.parsed.font_name.clone().unwrap();
        assert_eq!(name.len(), 7 + POSTSCRIPT_NAME.len());
        assert!(name[..6].chars().all(|c| c.is_ascii_uppercase()));
        assert!(
            s.parsed.original_bytes.len() < 40_000,
            "{}",
            s.parsed.original_bytes.len()
        );
        assert!(s.parsed.lookup_glyph_index('王' as u32).is_some());
    }
}
