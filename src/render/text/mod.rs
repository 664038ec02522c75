//! Text, from a caption's characters to what the layout wraps: each paragraph shaped once
//! into [`Unit`]s (the smallest pieces a line may end after) that carry their width, ink and
//! the kind of break allowed after them. The layout's size search then only adds numbers.

pub(crate) mod breaks;
pub(crate) mod emoji;
pub(crate) mod script;
pub(crate) mod shape;

use script::Script;
use shape::{Glyph, Shaper};
use std::collections::HashSet;
use unicode_bidi::Level;

/// What may happen after a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BreakAfter {
    /// A line-break opportunity (after a space, between ideographs, between Thai words).
    Line,
    /// A hyphenation point inside a word.
    Hyphen,
    /// Only as a last resort inside a word too long for a line; `hyphen` when the word is in
    /// a script that marks such a break with a hyphen.
    Within { hyphen: bool },
}

/// One or more grapheme clusters that shaping keeps together (a ligature, a conjunct).
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    /// Bytes of the paragraph's text.
    pub start: usize,
    pub end: usize,
    pub advance: f32,
    /// Ink relative to the unit's pen start, y down: (x0, y0, x1, y1), normalised.
    pub ink: Option<[f32; 4]>,
    /// White space only: it ends a line without being drawn.
    pub space: bool,
    pub after: BreakAfter,
}

/// One paragraph (a line of the caption as typed), shaped.
pub(crate) struct Paragraph {
    pub text: String,
    pub level: Level,
    pub units: Vec<Unit>,
}

/// Normalised ink of a glyph relative to its pen: (x0, y0, x1, y1), y down.
pub(crate) fn glyph_ink(shaper: &Shaper<'_>, g: &Glyph) -> Option<[f32; 4]> {
    let k = shaper.fonts.unit_scale(g.font, shaper.choice);
    shaper.fonts.ink(g.font, g.id).map(|[x0, y0, x1, y1]| [g.dx + x0 * k, g.dy + y0 * k, g.dx + x1 * k, g.dy + y1 * k])
}

/// Union of two optional boxes.
pub(crate) fn union(a: Option<[f32; 4]>, b: [f32; 4]) -> [f32; 4] {
    match a {
        None => b,
        Some(a) => [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])],
    }
}

impl Paragraph {
    pub fn new(shaper: &Shaper<'_>, text: String) -> Paragraph {
        let level = shape::base_level(&text);
        let glyphs = shaper.shape(&text, level);
        let mut starts: Vec<usize> = glyphs.iter().map(|g| g.cluster as usize).collect();
        starts.sort_unstable();
        starts.dedup();
        if starts.first() != Some(&0) && !text.is_empty() {
            starts.insert(0, 0);
        }
        // Per unit: advance, ink, and the smallest pen of its glyphs (its left edge).
        let mut acc: Vec<(f32, Option<[f32; 4]>, f32)> = vec![(0.0, None, f32::MAX); starts.len()];
        for g in &glyphs {
            let i = starts.partition_point(|&s| s <= g.cluster as usize).saturating_sub(1);
            acc[i].0 += g.advance;
            acc[i].2 = acc[i].2.min(g.pen);
        }
        for g in &glyphs {
            let i = starts.partition_point(|&s| s <= g.cluster as usize).saturating_sub(1);
            if let Some(ink) = glyph_ink(shaper, g) {
                let x = g.pen - acc[i].2;
                acc[i].1 = Some(union(acc[i].1, [x + ink[0], ink[1], x + ink[2], ink[3]]));
            }
        }
        let line_breaks: HashSet<usize> = breaks::line_breaks(&text).into_iter().collect();
        let hyphens = hyphenation_points(&text, &line_breaks);
        let units = starts
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                let end = starts.get(i + 1).copied().unwrap_or(text.len());
                let after = if line_breaks.contains(&end) {
                    BreakAfter::Line
                } else if hyphens.contains(&end) {
                    BreakAfter::Hyphen
                } else {
                    let letter = |c: Option<char>| c.is_some_and(|c| c.is_alphabetic() && Script::of(c).hyphenates());
                    BreakAfter::Within {
                        hyphen: letter(text[..end].chars().next_back()) && letter(text[end..].chars().next()),
                    }
                };
                let (advance, ink, _) = acc[i];
                let space = text[start..end].chars().all(char::is_whitespace);
                Unit { start, end, advance, ink, space, after }
            })
            .collect();
        Paragraph { text, level, units }
    }
}

/// Hyphenation points of the paragraph's long words (byte offsets into the paragraph).
fn hyphenation_points(text: &str, line_breaks: &HashSet<usize>) -> HashSet<usize> {
    /// Shorter words are never hyphenated: they move to the next line whole.
    const MIN_WORD_CHARS: usize = 6;
    let german = breaks::looks_german(text);
    let mut points = HashSet::new();
    let mut word_start: Option<usize> = None;
    let flush = |start: usize, end: usize, points: &mut HashSet<usize>| {
        let word = &text[start..end];
        if word.chars().count() >= MIN_WORD_CHARS {
            points.extend(breaks::hyphenation_points(word, german).into_iter().map(|p| start + p));
        }
    };
    for (i, c) in text.char_indices() {
        let letter = c.is_alphabetic() && Script::of(c).hyphenates();
        match (letter, word_start) {
            (true, None) => word_start = Some(i),
            (true, Some(s)) if line_breaks.contains(&i) => {
                flush(s, i, &mut points);
                word_start = Some(i);
            }
            (false, Some(s)) => {
                flush(s, i, &mut points);
                word_start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = word_start {
        flush(s, text.len(), &mut points);
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fonts::FontSet;
    use crate::render::spec::FontChoice;

    fn para(text: &str) -> Paragraph {
        let fonts = Box::leak(Box::new(FontSet::embedded().unwrap()));
        let plans = Box::leak(Box::default());
        let shaper = Shaper { fonts, plans, choice: FontChoice::Anton, han: fonts.han_locale(text) };
        Paragraph::new(&shaper, text.to_string())
    }

    #[test]
    fn units_are_clusters_with_the_breaks_between_them() {
        let p = para("WORD 漢字 👩\u{200D}💻");
        let texts: Vec<&str> = p.units.iter().map(|u| &p.text[u.start..u.end]).collect();
        assert_eq!(texts, ["W", "O", "R", "D", " ", "漢", "字", " ", "👩\u{200D}💻"]);
        assert_eq!(p.units[2].after, BreakAfter::Within { hyphen: true });
        assert_eq!(p.units[3].after, BreakAfter::Within { hyphen: false }, "a space follows");
        assert_eq!(p.units[4].after, BreakAfter::Line);
        assert!(p.units[4].space && p.units[4].ink.is_none());
        assert_eq!(p.units[5].after, BreakAfter::Line, "between ideographs");
        assert!(p.units.iter().all(|u| u.advance > 0.0));
    }

    #[test]
    fn long_words_get_hyphenation_points() {
        let p = para("DONAUDAMPFSCHIFFFAHRTSGESELLSCHAFTSKAPITÄN");
        assert!(p.units.iter().filter(|u| u.after == BreakAfter::Hyphen).count() >= 5);
        let short = para("HELLO");
        assert!(short.units.iter().all(|u| u.after != BreakAfter::Hyphen));
    }
}
