//! Text to positioned glyphs: grapheme clusters get a script and a font, the bidi algorithm
//! orders the runs, and rustybuzz shapes each run (joining, conjuncts, marks, kerning, emoji
//! ligatures). Output is normalised (see `fonts.rs`), in visual order, left to right.

use super::breaks;
use super::script::{Script, is_emoji_cluster};
use crate::render::fonts::{FontIdx, FontSet, HanLocale};
use crate::render::spec::FontChoice;
use ab_glyph::GlyphId;
use rustybuzz::{Direction, ShapePlan, UnicodeBuffer};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use unicode_bidi::{BidiClass, Level, ParagraphBidiInfo, bidi_class};

/// A glyph of shaped text, normalised.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Glyph {
    pub font: FontIdx,
    pub id: GlyphId,
    /// Byte offset of the first character of the glyph's cluster in the shaped text.
    pub cluster: u32,
    /// Pen position before the glyph, from the start of the text.
    pub pen: f32,
    /// Offset of the glyph from the pen (y down), from mark positioning and the like.
    pub dx: f32,
    pub dy: f32,
    pub advance: f32,
}

impl Glyph {
    /// Whether the glyph is a font's "missing" box.
    pub fn is_notdef(&self) -> bool {
        self.id.0 == 0
    }
}

/// Shape plans are slow to make and depend only on the font, direction and script: kept for
/// every later render. A handful of entries in practice (fonts × directions × scripts).
#[derive(Default)]
pub(crate) struct PlanCache {
    plans: Mutex<HashMap<(FontIdx, bool, rustybuzz::Script), Arc<ShapePlan>>>,
}

const MAX_PLANS: usize = 256;

/// Shapes the captions of one text box: the box's font and the caption's Han locale fixed.
pub(crate) struct Shaper<'a> {
    pub fonts: &'a FontSet,
    pub plans: &'a PlanCache,
    pub choice: FontChoice,
    pub han: HanLocale,
}

/// A run of grapheme clusters drawn by one font in one script.
struct Item {
    range: Range<usize>,
    font: FontIdx,
    script: Script,
}

/// The paragraph direction of `text`: that of its first strong character (UAX #9 P2–P3).
pub(crate) fn base_level(text: &str) -> Level {
    for c in text.chars() {
        match bidi_class(c) {
            BidiClass::L => return Level::ltr(),
            BidiClass::R | BidiClass::AL => return Level::rtl(),
            _ => {}
        }
    }
    Level::ltr()
}

impl Shaper<'_> {
    /// Glyphs of `text` in visual order; `base` is the paragraph's direction (a line keeps the
    /// direction of the paragraph it came from).
    pub fn shape(&self, text: &str, base: Level) -> Vec<Glyph> {
        // The bidi reordering indexes the text's first byte, so an empty line (an RTL
        // paragraph's line of spaces, trimmed) must stop here.
        if text.is_empty() {
            return Vec::new();
        }
        let items = self.items(text);
        let mut glyphs = Vec::with_capacity(text.len());
        let mut pen = 0.0;
        let pure_ltr = base.is_ltr() && !text.chars().any(|c| matches!(bidi_class(c), BidiClass::R | BidiClass::AL));
        if pure_ltr {
            for item in &items {
                self.shape_run(text, item.range.clone(), item, false, &mut pen, &mut glyphs);
            }
            return glyphs;
        }
        let bidi = ParagraphBidiInfo::new(text, Some(base));
        let (levels, runs) = bidi.visual_runs(0..text.len());
        for run in runs {
            let rtl = levels[run.start].is_rtl();
            let mut pieces: Vec<_> = items
                .iter()
                .filter_map(|item| {
                    let r = item.range.start.max(run.start)..item.range.end.min(run.end);
                    (r.start < r.end).then_some((r, item))
                })
                .collect();
            // Within a right-to-left run the logically first piece is drawn rightmost.
            if rtl {
                pieces.reverse();
            }
            for (r, item) in pieces {
                self.shape_run(text, r, item, rtl, &mut pen, &mut glyphs);
            }
        }
        glyphs
    }

    /// Grapheme clusters grouped into runs of one font and script. Spaces, digits and
    /// punctuation take the script of the text before them (after them at the start), so
    /// "مرحبا 2026" stays one Arabic run; emoji never lend their script to neighbours.
    fn items(&self, text: &str) -> Vec<Item> {
        let bounds = breaks::graphemes(text);
        let mut clusters: Vec<(Range<usize>, Script)> = bounds
            .windows(2)
            .map(|w| {
                let s = &text[w[0]..w[1]];
                let script = if is_emoji_cluster(s) {
                    Script::Emoji
                } else {
                    s.chars().map(Script::of).find(|&sc| sc != Script::Common).unwrap_or(Script::Common)
                };
                (w[0]..w[1], script)
            })
            .collect();
        let lends = |s: Script| s != Script::Common && s != Script::Emoji;
        let mut last = clusters.iter().map(|c| c.1).find(|&s| lends(s)).unwrap_or(Script::Common);
        for c in &mut clusters {
            if c.1 == Script::Common {
                c.1 = last;
            } else if lends(c.1) {
                last = c.1;
            }
        }
        let primary = FontSet::primary(self.choice);
        let mut items: Vec<Item> = Vec::new();
        for (range, script) in clusters {
            let cluster = &text[range.clone()];
            let font = self.fonts.resolve(self.choice, self.han, script, cluster).unwrap_or(primary);
            match items.last_mut() {
                Some(last) if last.font == font && last.script == script => last.range.end = range.end,
                _ => items.push(Item { range, font, script }),
            }
        }
        items
    }

    fn shape_run(&self, text: &str, r: Range<usize>, item: &Item, rtl: bool, pen: &mut f32, out: &mut Vec<Glyph>) {
        let face = self.fonts.shaper(item.font);
        let mut buf = UnicodeBuffer::new();
        buf.push_str(&text[r.clone()]);
        // Neighbouring text decides joining forms at the run's ends (an Arabic word split by a
        // font change still joins).
        buf.set_pre_context(&text[..r.start]);
        buf.set_post_context(&text[r.end..]);
        buf.set_direction(if rtl { Direction::RightToLeft } else { Direction::LeftToRight });
        match item.script.shaping() {
            Some(s) => buf.set_script(s),
            None => buf.guess_segment_properties(),
        }
        let plan = self.plan(item.font, rtl, buf.script());
        let shaped = rustybuzz::shape_with_plan(face, &plan, buf);
        let k = self.fonts.unit_scale(item.font, self.choice);
        for (info, pos) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
            let advance = pos.x_advance as f32 * k;
            out.push(Glyph {
                font: item.font,
                id: GlyphId(u16::try_from(info.glyph_id).unwrap_or(0)),
                cluster: info.cluster + r.start as u32,
                pen: *pen,
                dx: pos.x_offset as f32 * k,
                dy: -pos.y_offset as f32 * k,
                advance,
            });
            *pen += advance;
        }
    }

    fn plan(&self, font: FontIdx, rtl: bool, script: rustybuzz::Script) -> Arc<ShapePlan> {
        let key = (font, rtl, script);
        let mut plans = self.plans.plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = plans.get(&key) {
            return p.clone();
        }
        let dir = if rtl { Direction::RightToLeft } else { Direction::LeftToRight };
        let plan = Arc::new(ShapePlan::new(self.fonts.shaper(font), dir, Some(script), None, &[]));
        if plans.len() >= MAX_PLANS {
            plans.clear();
        }
        plans.insert(key, plan.clone());
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shaper(fonts: &FontSet, plans: &PlanCache, text: &str) -> Vec<Glyph> {
        let s = Shaper { fonts, plans, choice: FontChoice::Anton, han: fonts.han_locale(text) };
        s.shape(text, base_level(text))
    }

    #[test]
    fn arabic_joins_into_contextual_forms() {
        let fonts = FontSet::embedded().unwrap();
        let plans = PlanCache::default();
        // The same letter (beh) isolated and in the middle of a word gets different glyphs.
        let alone = shaper(&fonts, &plans, "ب");
        let joined = shaper(&fonts, &plans, "ببب");
        assert_eq!(joined.len(), 3);
        assert_ne!(alone[0].id, joined[1].id, "medial form");
        assert_ne!(joined[0].id, joined[2].id, "initial and final forms");
        // Right to left: the first letter (cluster 0) is drawn rightmost.
        assert_eq!(joined.last().unwrap().cluster, 0);
    }

    #[test]
    fn devanagari_conjuncts_and_emoji_sequences_become_single_glyphs() {
        let fonts = FontSet::embedded().unwrap();
        let plans = PlanCache::default();
        // क्ष (ka + virama + ssa) is one conjunct glyph, not three.
        assert_eq!(shaper(&fonts, &plans, "क्ष").len(), 1);
        for e in ["👩\u{200D}💻", "👍🏽", "🇩🇪"] {
            let g: Vec<_> = shaper(&fonts, &plans, e).into_iter().filter(|g| g.advance > 0.0).collect();
            assert_eq!(g.len(), 1, "{e:?}: {g:?}");
            assert!(!g[0].is_notdef());
        }
    }

    #[test]
    fn empty_text_shapes_to_nothing_in_either_direction() {
        let fonts = FontSet::embedded().unwrap();
        let plans = PlanCache::default();
        let s = Shaper { fonts: &fonts, plans: &plans, choice: FontChoice::Anton, han: HanLocale::default() };
        assert!(s.shape("", Level::rtl()).is_empty());
        assert!(s.shape("", Level::ltr()).is_empty());
    }

    #[test]
    fn mixed_lines_follow_the_bidi_algorithm() {
        let fonts = FontSet::embedded().unwrap();
        let plans = PlanCache::default();
        let text = "مرحبا Hello 2026";
        let g = shaper(&fonts, &plans, text);
        // An Arabic paragraph: "Hello 2026" on the left, the Arabic word on the right.
        let hello = text.find('H').unwrap() as u32;
        let first_arabic = g.iter().position(|g| g.cluster < hello).unwrap();
        let h = g.iter().position(|g| g.cluster == hello).unwrap();
        assert!(h < first_arabic, "{g:?}");
        assert!(g.iter().all(|g| !g.is_notdef()));
    }
}
