//! The embedded font set, per-glyph fallback and size-independent glyph metrics.
//!
//! Metrics are stored "normalised": in units of the pixel scale, so a glyph's width at size
//! `s` px is `s * advance`. The fit search multiplies instead of re-measuring or re-loading.

use super::spec::FontChoice;
use ab_glyph::{Font, FontRef, GlyphId};

/// Font files, embedded so the binary is self-contained. See `fonts/README.md` for provenance.
const ANTON: &[u8] = include_bytes!("../../fonts/Anton-Regular.ttf");
const OSWALD: &[u8] = include_bytes!("../../fonts/Oswald-Bold.ttf");
const COMIC_NEUE: &[u8] = include_bytes!("../../fonts/ComicNeue-Bold.ttf");
const NOTO_SANS: &[u8] = include_bytes!("../../fonts/NotoSans-Bold.ttf");
const ARCHIVO_BLACK: &[u8] = include_bytes!("../../fonts/ArchivoBlack-Regular.ttf");
const NOTO_EMOJI: &[u8] = include_bytes!("../../fonts/NotoEmoji-Regular.ttf");

/// Index of a font in [`FontSet::fonts`].
pub(crate) type FontIdx = u8;
const IDX_OSWALD: FontIdx = 1;
const IDX_NOTO_SANS: FontIdx = 3;
const IDX_EMOJI: FontIdx = 5;

/// Per-font vertical metrics, normalised.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineMetrics {
    /// Baseline-to-baseline distance.
    pub line_advance: f32,
    /// Height of a capital (ink of "H"): used to cap the font size.
    pub cap_height: f32,
}

/// One positioned-to-be character: which font draws it and how big it is, normalised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ShapedChar {
    pub font: FontIdx,
    pub id: GlyphId,
    pub advance: f32,
    /// Ink box relative to the pen on the baseline, y down: (x0, y0, x1, y1); None for blanks.
    pub ink: Option<[f32; 4]>,
}

/// All fonts, parsed once. `FontRef` borrows the embedded bytes, so this is cheap to keep.
pub(crate) struct FontSet {
    fonts: Vec<FontRef<'static>>,
    metrics: Vec<LineMetrics>,
}

impl FontSet {
    /// Parses the embedded fonts. They are known-good files checked by the tests, so a failure
    /// here is an internal error, not bad input.
    pub fn embedded() -> Result<Self, String> {
        let data = [ANTON, OSWALD, COMIC_NEUE, NOTO_SANS, ARCHIVO_BLACK, NOTO_EMOJI];
        let mut fonts = Vec::with_capacity(data.len());
        for (i, bytes) in data.iter().enumerate() {
            fonts.push(FontRef::try_from_slice(bytes).map_err(|e| format!("embedded font {i}: {e}"))?);
        }
        let metrics = fonts.iter().map(line_metrics).collect();
        Ok(FontSet { fonts, metrics })
    }

    pub fn font(&self, idx: FontIdx) -> &FontRef<'static> {
        &self.fonts[usize::from(idx)]
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

    /// The font that draws `c`: the chosen one, else Oswald (Cyrillic, in a similar condensed
    /// style), else Noto Sans (Greek, Vietnamese, more), else Noto Emoji. None when no font has
    /// the glyph; the caller then draws the chosen font's "missing" box.
    pub fn resolve(&self, choice: FontChoice, c: char) -> Option<(FontIdx, GlyphId)> {
        let chain = [Self::primary(choice), IDX_OSWALD, IDX_NOTO_SANS, IDX_EMOJI];
        chain.into_iter().find_map(|idx| {
            let id = self.font(idx).glyph_id(c);
            (id.0 != 0).then_some((idx, id))
        })
    }

    /// Normalised metrics of one character, with fallback. Returns None for characters that
    /// take no space at all (controls, joiners, variation selectors).
    pub fn shape_char(&self, choice: FontChoice, c: char) -> Option<ShapedChar> {
        if is_invisible(c) {
            return None;
        }
        let (font, id) = self.resolve(choice, c).unwrap_or((Self::primary(choice), GlyphId(0)));
        let f = self.font(font);
        let h = f.height_unscaled();
        // ab_glyph's unscaled bounds keep font y-up values with min.y = y_max (top) and
        // max.y = y_min (bottom); negate for y-down.
        let ink =
            f.outline(id).map(|o| [o.bounds.min.x / h, -o.bounds.min.y / h, o.bounds.max.x / h, -o.bounds.max.y / h]);
        Some(ShapedChar { font, id, advance: f.h_advance_unscaled(id) / h, ink })
    }
}

/// Characters that must not produce a glyph or advance: drawing them would show a missing-glyph
/// box for what is only a formatting hint (emoji variation selector, zero-width joiner, ...).
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200B}'..='\u{200F}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}')
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
    fn fallback_chain_covers_cyrillic_accents_and_emoji() {
        let set = FontSet::embedded().unwrap();
        // Anton has no Cyrillic: Oswald draws it.
        assert_eq!(set.resolve(FontChoice::Anton, 'Ж').map(|r| r.0), Some(IDX_OSWALD));
        assert_eq!(set.resolve(FontChoice::Anton, 'é').map(|r| r.0), Some(0));
        assert_eq!(set.resolve(FontChoice::Anton, 'ψ').map(|r| r.0), Some(IDX_NOTO_SANS));
        assert_eq!(set.resolve(FontChoice::Anton, '😂').map(|r| r.0), Some(IDX_EMOJI));
        assert_eq!(set.resolve(FontChoice::ComicNeue, '\u{10FFFD}'), None);
        assert_eq!(set.shape_char(FontChoice::Anton, '\u{FE0F}'), None);
        assert_eq!(set.shape_char(FontChoice::Anton, '\u{200D}'), None);
    }
}
