//! The embedded font set, the fallback order by script and size-independent glyph metrics.
//!
//! Metrics are "normalised": in units of the layout's pixel scale, so at size `s` px a glyph is
//! `s * advance` wide. For the chosen font (and its Latin-style fallbacks) the scale is the
//! font's height (ascent − descent), as ab_glyph's `PxScale` has it. The script fonts are scaled
//! so that their em is the chosen font's em: an ideograph then stands as tall beside Anton as it
//! would beside Noto Sans, instead of shrinking with Noto's taller line height.

use super::spec::FontChoice;
use super::text::script::{Script, is_default_ignorable};
use ab_glyph::{Font, FontRef, GlyphId};

/// Font files, embedded so the binary is self-contained. See `fonts/README.md` for provenance.
const ANTON: &[u8] = include_bytes!("../../fonts/Anton-Regular.ttf");
const OSWALD: &[u8] = include_bytes!("../../fonts/Oswald-Bold.ttf");
const COMIC_NEUE: &[u8] = include_bytes!("../../fonts/ComicNeue-Bold.ttf");
const NOTO_SANS: &[u8] = include_bytes!("../../fonts/NotoSans-Bold.ttf");
const ARCHIVO_BLACK: &[u8] = include_bytes!("../../fonts/ArchivoBlack-Regular.ttf");
const NOTO_EMOJI: &[u8] = include_bytes!("../../fonts/NotoEmoji-Regular.ttf");
const COLOR_EMOJI: &[u8] = include_bytes!("../../fonts/fallback/NotoColorEmoji.ttf");
const ARABIC: &[u8] = include_bytes!("../../fonts/fallback/NotoSansArabic-Bold.ttf");
const HEBREW: &[u8] = include_bytes!("../../fonts/fallback/NotoSansHebrew-Bold.ttf");
const DEVANAGARI: &[u8] = include_bytes!("../../fonts/fallback/NotoSansDevanagari-Bold.ttf");
const BENGALI: &[u8] = include_bytes!("../../fonts/fallback/NotoSansBengali-Bold.ttf");
const THAI: &[u8] = include_bytes!("../../fonts/fallback/NotoSansThai-Bold.ttf");
const CJK_JP: &[u8] = include_bytes!("../../fonts/fallback/NotoSansCJKjp-Bold.otf");
const CJK_SC: &[u8] = include_bytes!("../../fonts/fallback/NotoSansCJKsc-Bold.otf");
const CJK_TC: &[u8] = include_bytes!("../../fonts/fallback/NotoSansCJKtc-Bold.otf");
const CJK_KR: &[u8] = include_bytes!("../../fonts/fallback/NotoSansCJKkr-Bold.otf");

/// Index of a font in [`FontSet`]; the order of [`FontSet::embedded`]'s table.
pub(crate) type FontIdx = u8;
const IDX_OSWALD: FontIdx = 1;
const IDX_NOTO_SANS: FontIdx = 3;
const IDX_EMOJI: FontIdx = 5;
pub(crate) const IDX_COLOR_EMOJI: FontIdx = 6;
const IDX_ARABIC: FontIdx = 7;
const IDX_HEBREW: FontIdx = 8;
const IDX_DEVANAGARI: FontIdx = 9;
const IDX_BENGALI: FontIdx = 10;
const IDX_THAI: FontIdx = 11;
const IDX_JP: FontIdx = 12;
const IDX_SC: FontIdx = 13;
const IDX_TC: FontIdx = 14;
const IDX_KR: FontIdx = 15;

/// Per-font vertical metrics, normalised.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineMetrics {
    /// Baseline-to-baseline distance.
    pub line_advance: f32,
    /// Height of a capital (ink of "H"): used to cap the font size.
    pub cap_height: f32,
}

/// Which CJK font draws Han characters, decided once per caption: a caption with kana is
/// Japanese, one with Hangul Korean, one with a character only the Traditional set has is
/// Traditional Chinese; otherwise Simplified. The same ideograph has different forms in each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum HanLocale {
    #[default]
    Simplified,
    Traditional,
    Japanese,
    Korean,
}

struct Face {
    outlines: FontRef<'static>,
    shaper: rustybuzz::Face<'static>,
    /// ascent − descent and units per em, in font units.
    height: f32,
    upem: f32,
    /// Scaled to the chosen font's em (script fonts) rather than by its own height.
    em_matched: bool,
}

/// All fonts, parsed once. Both parsers borrow the embedded bytes, so this is cheap to keep
/// and cheap to make: no table is read before a glyph needs it.
pub(crate) struct FontSet {
    faces: Vec<Face>,
    metrics: Vec<LineMetrics>,
}

impl FontSet {
    /// Parses the embedded fonts. They are known-good files checked by the tests, so a failure
    /// here is an internal error, not bad input.
    pub fn embedded() -> Result<Self, String> {
        // (bytes, em-matched)
        let data: [(&'static [u8], bool); 16] = [
            (ANTON, false),
            (OSWALD, false),
            (COMIC_NEUE, false),
            (NOTO_SANS, false),
            (ARCHIVO_BLACK, false),
            (NOTO_EMOJI, false),
            (COLOR_EMOJI, true),
            (ARABIC, true),
            (HEBREW, true),
            (DEVANAGARI, true),
            (BENGALI, true),
            (THAI, true),
            (CJK_JP, true),
            (CJK_SC, true),
            (CJK_TC, true),
            (CJK_KR, true),
        ];
        let mut faces = Vec::with_capacity(data.len());
        for (i, (bytes, em_matched)) in data.into_iter().enumerate() {
            let outlines = FontRef::try_from_slice(bytes).map_err(|e| format!("embedded font {i}: {e}"))?;
            let shaper = rustybuzz::Face::from_slice(bytes, 0).ok_or_else(|| format!("embedded font {i}: no face"))?;
            let height = outlines.height_unscaled();
            let upem = outlines.units_per_em().unwrap_or(1000.0);
            faces.push(Face { outlines, shaper, height, upem, em_matched });
        }
        let metrics = faces.iter().map(|f| line_metrics(&f.outlines)).collect();
        Ok(FontSet { faces, metrics })
    }

    pub fn font(&self, idx: FontIdx) -> &FontRef<'static> {
        &self.faces[usize::from(idx)].outlines
    }

    pub fn shaper(&self, idx: FontIdx) -> &rustybuzz::Face<'static> {
        &self.faces[usize::from(idx)].shaper
    }

    pub fn primary(choice: FontChoice) -> FontIdx {
        match choice {
            FontChoice::Anton => 0,
            FontChoice::Oswald => IDX_OSWALD,
            FontChoice::ComicNeue => 2,
            FontChoice::NotoSans => IDX_NOTO_SANS,
            FontChoice::ArchivoBlack => 4,
        }
    }

    pub fn metrics(&self, choice: FontChoice) -> LineMetrics {
        self.metrics[usize::from(Self::primary(choice))]
    }

    /// Normalised units per font unit of `font` when `choice` is the caption's font.
    pub fn unit_scale(&self, font: FontIdx, choice: FontChoice) -> f32 {
        let f = &self.faces[usize::from(font)];
        if f.em_matched {
            let p = &self.faces[usize::from(Self::primary(choice))];
            p.upem / p.height / f.upem
        } else {
            1.0 / f.height
        }
    }

    /// ab_glyph's `PxScale` (pixels per font height) that draws `font` at layout size `size`.
    pub fn px_scale(&self, font: FontIdx, choice: FontChoice, size: f32) -> f32 {
        size * self.unit_scale(font, choice) * self.faces[usize::from(font)].height
    }

    #[cfg(test)]
    pub fn units_per_em(&self, font: FontIdx) -> f32 {
        self.faces[usize::from(font)].upem
    }

    /// Whether `font` has a glyph for every visible character of `cluster`.
    pub fn covers(&self, font: FontIdx, cluster: &str) -> bool {
        cluster.chars().all(|c| is_default_ignorable(c) || self.has_glyph(font, c))
    }

    fn has_glyph(&self, font: FontIdx, c: char) -> bool {
        self.faces[usize::from(font)].shaper.glyph_index(c).is_some()
    }

    /// The Han font for a caption (see [`HanLocale`]).
    pub fn han_locale(&self, text: &str) -> HanLocale {
        let mut han_only_traditional = false;
        for c in text.chars() {
            match Script::of(c) {
                Script::Kana => return HanLocale::Japanese,
                Script::Hangul => return HanLocale::Korean,
                Script::Han if !han_only_traditional => {
                    han_only_traditional = self.has_glyph(IDX_TC, c) && !self.has_glyph(IDX_SC, c);
                }
                _ => {}
            }
        }
        if han_only_traditional { HanLocale::Traditional } else { HanLocale::Simplified }
    }

    /// The font that draws a grapheme cluster of `script`: the script's own font first (for
    /// Han, the caption's locale, then the other CJK sets for characters a subset lacks), then
    /// the chosen font's chain: the chosen one, Oswald (Cyrillic, in a similar condensed style),
    /// Noto Sans (Greek, Vietnamese, more), the script fonts, Noto Emoji. None when no font has
    /// the cluster; the caller then draws the chosen font's "missing" box.
    pub fn resolve(&self, choice: FontChoice, han: HanLocale, script: Script, cluster: &str) -> Option<FontIdx> {
        let own: &[FontIdx] = match script {
            Script::Arabic => &[IDX_ARABIC],
            Script::Hebrew => &[IDX_HEBREW],
            Script::Devanagari => &[IDX_DEVANAGARI],
            Script::Bengali => &[IDX_BENGALI],
            Script::Thai => &[IDX_THAI],
            Script::Hangul => &[IDX_KR],
            Script::Kana => &[IDX_JP],
            Script::Han => match han {
                HanLocale::Simplified => &[IDX_SC, IDX_TC, IDX_JP, IDX_KR],
                HanLocale::Traditional => &[IDX_TC, IDX_SC, IDX_JP, IDX_KR],
                HanLocale::Japanese => &[IDX_JP, IDX_TC, IDX_SC, IDX_KR],
                HanLocale::Korean => &[IDX_KR, IDX_TC, IDX_SC, IDX_JP],
            },
            Script::Emoji => &[IDX_COLOR_EMOJI, IDX_EMOJI],
            Script::Common | Script::Other => &[],
        };
        let chain = [Self::primary(choice), IDX_OSWALD, IDX_NOTO_SANS];
        let scripts = [IDX_ARABIC, IDX_HEBREW, IDX_DEVANAGARI, IDX_BENGALI, IDX_THAI, IDX_SC, IDX_JP, IDX_KR];
        own.iter()
            .chain(&chain)
            .chain(&scripts)
            .chain(&[IDX_EMOJI, IDX_COLOR_EMOJI])
            .copied()
            .find(|&f| self.covers(f, cluster))
    }

    /// Ink box of a glyph in font units, y down: (x0, y0, x1, y1); None for blanks. Colour
    /// emoji have no outlines: their box is their bitmap's.
    pub fn ink(&self, font: FontIdx, id: GlyphId) -> Option<[f32; 4]> {
        let face = &self.faces[usize::from(font)];
        if font == IDX_COLOR_EMOJI {
            let img = face.shaper.glyph_raster_image(rustybuzz::ttf_parser::GlyphId(id.0), u16::MAX)?;
            let k = face.upem / f32::from(img.pixels_per_em.max(1));
            let (x, y) = (f32::from(img.x), f32::from(img.y));
            return Some([x * k, -(y + f32::from(img.height)) * k, (x + f32::from(img.width)) * k, -y * k]);
        }
        let r = face.shaper.glyph_bounding_box(rustybuzz::ttf_parser::GlyphId(id.0))?;
        Some([f32::from(r.x_min), -f32::from(r.y_max), f32::from(r.x_max), -f32::from(r.y_min)])
    }
}

fn ink_of(f: &FontRef<'static>, c: char) -> Option<[f32; 2]> {
    let h = f.height_unscaled();
    f.outline(f.glyph_id(c)).map(|o| [-o.bounds.min.y / h, -o.bounds.max.y / h])
}

/// Line spacing from the ink of real letters rather than the font's ascent/descent, which for
/// display fonts like Anton leave a lot of air: meme text is set tight. Baseline-to-baseline =
/// cap height + descender depth + 15% of the cap height as a gap.
fn line_metrics(f: &FontRef<'static>) -> LineMetrics {
    let h = f.height_unscaled();
    let cap = ink_of(f, 'H').map(|[top, _]| -top).unwrap_or(f.ascent_unscaled() / h * 0.7);
    let desc = ink_of(f, 'g').map(|[_, bottom]| bottom).unwrap_or(-f.descent_unscaled() / h);
    LineMetrics { line_advance: cap + desc + 0.15 * cap, cap_height: cap }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_fonts_parse_and_have_sane_metrics() {
        let set = FontSet::embedded().unwrap();
        for choice in FontChoice::ALL {
            let m = set.metrics(choice);
            assert!(m.cap_height > 0.3 && m.cap_height < 1.0, "{choice}: {m:?}");
            assert!(m.line_advance > m.cap_height, "{choice}: {m:?}");
        }
    }

    #[test]
    fn fallback_goes_by_script() {
        let set = FontSet::embedded().unwrap();
        let r = |script, s: &str| set.resolve(FontChoice::Anton, HanLocale::Simplified, script, s);
        // Anton has no Cyrillic: Oswald draws it.
        assert_eq!(r(Script::Other, "Ж"), Some(IDX_OSWALD));
        assert_eq!(r(Script::Other, "é"), Some(0));
        assert_eq!(r(Script::Other, "ψ"), Some(IDX_NOTO_SANS));
        assert_eq!(r(Script::Emoji, "😂"), Some(IDX_COLOR_EMOJI));
        assert_eq!(r(Script::Emoji, "👩\u{200D}💻"), Some(IDX_COLOR_EMOJI));
        assert_eq!(r(Script::Arabic, "م"), Some(IDX_ARABIC));
        assert_eq!(r(Script::Thai, "ไ"), Some(IDX_THAI));
        assert_eq!(r(Script::Hangul, "한"), Some(IDX_KR));
        assert_eq!(r(Script::Han, "汉"), Some(IDX_SC));
        assert_eq!(r(Script::Other, "\u{10FFFD}"), None);
        // The same ideograph comes from the caption's locale.
        let jp = set.han_locale("これは漢字");
        assert_eq!(jp, HanLocale::Japanese);
        assert_eq!(set.resolve(FontChoice::Anton, jp, Script::Han, "漢"), Some(IDX_JP));
        assert_eq!(set.han_locale("這個"), HanLocale::Traditional);
        assert_eq!(set.han_locale("这个"), HanLocale::Simplified);
        assert_eq!(set.han_locale("한국어 漢字"), HanLocale::Korean);
    }

    #[test]
    fn script_fonts_match_the_chosen_fonts_em() {
        let set = FontSet::embedded().unwrap();
        for choice in FontChoice::ALL {
            let p = FontSet::primary(choice);
            let em = set.unit_scale(p, choice) * set.units_per_em(p);
            for f in [IDX_ARABIC, IDX_JP, IDX_COLOR_EMOJI] {
                let e = set.unit_scale(f, choice) * set.units_per_em(f);
                assert!((e - em).abs() < 1e-4, "{choice} font {f}: {e} vs {em}");
            }
        }
    }
}
