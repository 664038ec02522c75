//! Line breaking and the font-size search. The text is shaped once (`text::Paragraph`); the
//! search is then pure arithmetic on normalised unit widths (no glyph is shaped or rasterised
//! while searching), and only the chosen lines are shaped again, each on its own, so joining
//! forms and the bidi order are those of the line as drawn.

use super::fonts::{FontIdx, FontSet, LineMetrics};
use super::spec::{Align, FontChoice, VAlign};
use super::text::shape::{PlanCache, Shaper};
use super::text::{BreakAfter, Paragraph, emoji, glyph_ink, union};
use ab_glyph::GlyphId;
use std::collections::HashMap;
use std::sync::Mutex;

/// Smallest font size (px scale) the search goes down to; text that does not fit at this size
/// is cut at the last line that fits rather than drawn outside its box.
pub const MIN_SIZE: u32 = 6;

/// Outline thickness as a fraction of the font size (px scale). 0.05 of Anton's size is about
/// 1/13 of its cap height: the weight of the classic Impact meme outline.
const OUTLINE_PER_SIZE: f32 = 0.05;

/// A pixel rectangle, half-open: `x0 <= x < x1`, `y0 <= y < y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PxRect {
    pub x0: i32,
    pub y0: i32,
    pub x1: i32,
    pub y1: i32,
}

impl PxRect {
    pub fn width(&self) -> i32 {
        self.x1 - self.x0
    }
    pub fn height(&self) -> i32 {
        self.y1 - self.y0
    }
    pub fn is_empty(&self) -> bool {
        self.x1 <= self.x0 || self.y1 <= self.y0
    }
    pub fn intersect(&self, o: &PxRect) -> PxRect {
        PxRect { x0: self.x0.max(o.x0), y0: self.y0.max(o.y0), x1: self.x1.min(o.x1), y1: self.y1.min(o.y1) }
    }
    pub fn union(&self, o: &PxRect) -> PxRect {
        PxRect { x0: self.x0.min(o.x0), y0: self.y0.min(o.y0), x1: self.x1.max(o.x1), y1: self.y1.max(o.y1) }
    }
    pub fn contains(&self, o: &PxRect) -> bool {
        o.x0 >= self.x0 && o.y0 >= self.y0 && o.x1 <= self.x1 && o.y1 <= self.y1
    }
}

/// A glyph to draw: pen position on the baseline in whole pixels plus a quarter-pixel phase
/// (joined scripts would show seams if every glyph snapped to a pixel), and its raster scale.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlacedGlyph {
    pub font: FontIdx,
    pub id: GlyphId,
    pub x: i32,
    pub y: i32,
    /// Horizontal sub-pixel phase, in quarters of a pixel (0..4).
    pub phase: u8,
    /// ab_glyph's `PxScale` for this glyph, in quarters of a pixel.
    pub scale_q: u32,
}

/// The result of laying out one text box.
#[derive(Debug, Clone)]
pub struct TextLayout {
    /// Font size (px scale) chosen by the search.
    pub size: u32,
    /// Outline radius in pixels (0: no outline).
    pub outline_radius: u32,
    /// The box in pixels, clamped to the image: nothing is drawn outside it.
    pub region: PxRect,
    /// Conservative box around every drawn pixel (ink + outline); None when nothing is drawn.
    pub bounds: Option<PxRect>,
    /// Number of lines after wrapping.
    pub lines: usize,
    /// Glyphs left out because the text did not fit even at [`MIN_SIZE`].
    pub dropped: usize,
    /// Glyphs no font has, drawn as the chosen font's missing-glyph box.
    pub missing: usize,
    pub(crate) glyphs: Vec<PlacedGlyph>,
}

/// What to lay out and how.
pub(crate) struct LayoutRequest<'a> {
    pub text: &'a str,
    pub font: FontChoice,
    pub align: Align,
    pub valign: VAlign,
    /// The box, in pixels (may stick out of the image; it is clamped).
    pub rect: PxRect,
    /// The image (or canvas) bounds.
    pub canvas: PxRect,
    /// Largest font size to try.
    pub max_size: u32,
    pub outline: bool,
}

/// A line: units `start..end` of paragraph `para`, with a hyphen drawn after it when it ends
/// inside a word.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LineSpan {
    para: usize,
    start: usize,
    end: usize,
    hyphen: bool,
}

/// The hyphen drawn at a broken word, normalised.
struct Hyphen {
    advance: f32,
    ink: Option<[f32; 4]>,
}

/// Fonts, shape plans and finished layouts, shared by every box of every render.
pub(crate) struct TextTools<'a> {
    pub fonts: &'a FontSet,
    pub plans: &'a PlanCache,
    pub layouts: &'a LayoutCache,
}

/// Everything a layout depends on: the same request always lays out the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LayoutKey {
    text: String,
    font: FontChoice,
    align: Align,
    valign: VAlign,
    rect: PxRect,
    canvas: PxRect,
    max_size: u32,
    outline: bool,
}

/// Finished layouts by request. The same captions come back all the time: every preview while
/// someone types in one box lays out the others again, a template's default captions, a
/// popular `/i/` URL at another size. Shaping and the size search then cost one lookup.
#[derive(Default)]
pub(crate) struct LayoutCache {
    map: Mutex<HashMap<LayoutKey, TextLayout>>,
    pub hits: super::hits::HitCounts,
}

/// Entries kept before the cache is emptied (a layout is a few hundred bytes to a few KB).
const MAX_CACHED_LAYOUTS: usize = 4096;

impl LayoutCache {
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Line endings to `\n`, tabs to spaces, other control characters dropped (they draw nothing
/// and some, like U+0085, would start a new bidi paragraph), emoji names to emoji.
fn normalise(text: &str) -> String {
    let text = emoji::expand_aliases(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push('\n');
            }
            '\n' | '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The normalised text and its shaper: the caption's font, and its Han locale (which CJK font).
fn prepare<'a>(tools: &TextTools<'a>, text: &str, font: FontChoice) -> (String, Shaper<'a>) {
    let text = normalise(text);
    let han = tools.fonts.han_locale(&text);
    (text, Shaper { fonts: tools.fonts, plans: tools.plans, choice: font, han })
}

/// Greedy line breaking at `limit` (normalised width). Words move to the next line whole; a
/// word longer than a line is broken at its last hyphenation point that fits, else between
/// grapheme clusters, so any text fits once a single cluster does.
fn wrap(paras: &[Paragraph], hyphen: &Hyphen, limit: f32) -> Vec<LineSpan> {
    let mut lines = Vec::new();
    for (pi, p) in paras.iter().enumerate() {
        let u = &p.units;
        let n = u.len();
        let (mut line_start, mut line_w, mut i) = (0, 0.0f32, 0);
        while i < n {
            // The word: units i..j, j just after the next line-break opportunity.
            let j = u[i..].iter().position(|u| u.after == BreakAfter::Line).map_or(n, |k| i + k + 1);
            let full: f32 = u[i..j].iter().map(|u| u.advance).sum();
            let trailing: f32 = u[i..j].iter().rev().take_while(|u| u.space).map(|u| u.advance).sum();
            let trimmed = full - trailing;
            if line_start == i {
                if trimmed <= limit {
                    line_w = full;
                    i = j;
                } else {
                    let (end, hy) = break_inside(&u[i..j], hyphen, limit);
                    lines.push(LineSpan { para: pi, start: i, end: i + end, hyphen: hy });
                    i += end;
                    line_start = i;
                    line_w = 0.0;
                }
            } else if line_w + trimmed <= limit {
                line_w += full;
                i = j;
            } else {
                lines.push(LineSpan { para: pi, start: line_start, end: i, hyphen: false });
                line_start = i;
                line_w = 0.0;
            }
        }
        if line_start < n || n == 0 {
            lines.push(LineSpan { para: pi, start: line_start, end: n, hyphen: false });
        }
    }
    lines
}

/// Where to break a word too long for a line: (units on this line, draw a hyphen). At least
/// one unit, so breaking always makes progress.
fn break_inside(word: &[super::text::Unit], hyphen: &Hyphen, limit: f32) -> (usize, bool) {
    let (mut w, mut at_hyphen, mut at_cluster) = (0.0f32, None, None);
    for (m, u) in word.iter().enumerate().take(word.len().saturating_sub(1)) {
        w += u.advance;
        if w > limit {
            break;
        }
        match u.after {
            BreakAfter::Hyphen if w + hyphen.advance <= limit => at_hyphen = Some(m + 1),
            BreakAfter::Within { hyphen: hy } if w + if hy { hyphen.advance } else { 0.0 } <= limit => {
                at_cluster = Some((m + 1, hy))
            }
            _ => {}
        }
    }
    at_hyphen.map(|k| (k, true)).or(at_cluster).unwrap_or((1, false))
}

/// Ink extents of a line from its units, normalised: (x0, y0, x1, y1), or None if it has no ink.
fn span_ink(paras: &[Paragraph], hyphen: &Hyphen, l: &LineSpan) -> Option<[f32; 4]> {
    let mut pen = 0.0;
    let mut out = None;
    for u in &paras[l.para].units[l.start..l.end] {
        if let Some([x0, y0, x1, y1]) = u.ink {
            out = Some(union(out, [pen + x0, y0, pen + x1, y1]));
        }
        pen += u.advance;
    }
    if l.hyphen
        && let Some([x0, y0, x1, y1]) = hyphen.ink
    {
        // Trailing spaces are not part of a hyphenated line, so the pen is at the word's end.
        out = Some(union(out, [pen + x0, y0, pen + x1, y1]));
    }
    out
}

/// Baselines of stacked lines (from the block's top) and the block's height, normalised. Lines
/// are `line_advance` apart unless their ink (tall marks, emoji) would come closer than the
/// usual gap, and then just far enough apart.
fn stack(inks: &[Option<[f32; 4]>], m: &LineMetrics) -> (Vec<f32>, f32) {
    let top = |i: &Option<[f32; 4]>| i.map(|i| -i[1]).unwrap_or(m.cap_height).max(0.0);
    let bottom = |i: &Option<[f32; 4]>| i.map(|i| i[3]).unwrap_or(0.0).max(0.0);
    let gap = 0.15 * m.cap_height;
    let mut baselines = Vec::with_capacity(inks.len());
    let Some(first) = inks.first() else { return (baselines, 0.0) };
    let mut b = top(first);
    baselines.push(b);
    for w in inks.windows(2) {
        b += m.line_advance.max(bottom(&w[0]) + gap + top(&w[1]));
        baselines.push(b);
    }
    (baselines, b + bottom(inks.last().unwrap_or(&None)))
}

/// Widest ink and the block's height, normalised.
fn extent(inks: &[Option<[f32; 4]>], m: &LineMetrics) -> (f32, f32) {
    let width = inks.iter().flatten().map(|i| i[2] - i[0]).fold(0.0, f32::max);
    (width, stack(inks, m).1)
}

fn outline_radius(size: u32, outline: bool) -> u32 {
    if outline { ((size as f32 * OUTLINE_PER_SIZE).round() as u32).max(1) } else { 0 }
}

/// Pixels kept free on each side of the text: the outline plus its one-pixel soft edge, one
/// pixel for the rasteriser's floor/ceil of the ink box and one for rounding the pen position.
fn margin(size: u32, outline: bool) -> i32 {
    outline_radius(size, outline) as i32 + 3
}

/// A line as drawn: its glyphs (visual order) and ink, normalised.
struct ShapedLine {
    glyphs: Vec<super::text::shape::Glyph>,
    ink: Option<[f32; 4]>,
}

fn shape_line(shaper: &Shaper<'_>, paras: &[Paragraph], l: &LineSpan) -> ShapedLine {
    let p = &paras[l.para];
    if l.start >= l.end {
        return ShapedLine { glyphs: Vec::new(), ink: None };
    }
    let mut text = p.text[p.units[l.start].start..p.units[l.end - 1].end].trim_end().to_string();
    if l.hyphen {
        text.push('-');
    }
    let glyphs = shaper.shape(&text, p.level);
    let mut ink = None;
    for g in &glyphs {
        if let Some([x0, y0, x1, y1]) = glyph_ink(shaper, g) {
            ink = Some(union(ink, [g.pen + x0, y0, g.pen + x1, y1]));
        }
    }
    ShapedLine { glyphs, ink }
}

/// Lays out one box: finds the largest size whose wrapped text fits, balances the lines, and
/// places every glyph. Never places a glyph whose ink+outline box leaves the (clamped) box.
pub(crate) fn layout(tools: &TextTools<'_>, req: &LayoutRequest<'_>) -> TextLayout {
    let key = LayoutKey {
        text: req.text.to_owned(),
        font: req.font,
        align: req.align,
        valign: req.valign,
        rect: req.rect,
        canvas: req.canvas,
        max_size: req.max_size,
        outline: req.outline,
    };
    // A poisoned lock only means another render panicked mid-insert; the map is still valid.
    if let Some(hit) = tools.layouts.map.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        tools.layouts.hits.hit();
        return hit.clone();
    }
    tools.layouts.hits.miss();
    let made = compute(tools, req);
    let mut map = tools.layouts.map.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= MAX_CACHED_LAYOUTS {
        map.clear();
    }
    map.insert(key, made.clone());
    made
}

fn compute(tools: &TextTools<'_>, req: &LayoutRequest<'_>) -> TextLayout {
    let fonts = tools.fonts;
    let region = req.rect.intersect(&req.canvas);
    let empty = |size| TextLayout {
        size,
        outline_radius: outline_radius(size, req.outline),
        region,
        bounds: None,
        lines: 0,
        dropped: 0,
        missing: 0,
        glyphs: Vec::new(),
    };
    if region.is_empty() {
        return empty(MIN_SIZE);
    }
    let (text, shaper) = prepare(tools, req.text, req.font);
    let paras: Vec<Paragraph> = text.split('\n').map(|p| Paragraph::new(&shaper, p.to_string())).collect();
    if paras.iter().all(|p| p.units.iter().all(|u| u.ink.is_none())) {
        return empty(MIN_SIZE);
    }
    let hyphen = {
        let g = shaper.shape("-", unicode_bidi::Level::ltr());
        let advance = g.iter().map(|g| g.advance).sum();
        let ink = g.iter().filter_map(|g| glyph_ink(&shaper, g)).reduce(|a, b| union(Some(a), b));
        Hyphen { advance, ink }
    };
    let metrics = fonts.metrics(req.font);
    let avail = |size: u32| {
        let m = margin(size, req.outline);
        ((region.width() - 2 * m) as f32, (region.height() - 2 * m) as f32)
    };
    let inks = |lines: &[LineSpan]| lines.iter().map(|l| span_ink(&paras, &hyphen, l)).collect::<Vec<_>>();
    let fits = |size: u32| {
        let (aw, ah) = avail(size);
        if aw <= 0.0 || ah <= 0.0 {
            return false;
        }
        let s = size as f32;
        let (w, h) = extent(&inks(&wrap(&paras, &hyphen, aw / s)), &metrics);
        w * s <= aw && h * s <= ah
    };

    // Binary search: the largest size in [MIN_SIZE, max] that fits (fitting is monotone in the
    // size up to rounding, which the margin absorbs). Lines shaped on their own can come out a
    // little wider than the same units in the paragraph (an Arabic final form, a hyphen), so a
    // size whose drawn lines do not fit is searched again below it.
    let mut max = req.max_size.max(MIN_SIZE);
    let (size, lines, shaped, drawn) = loop {
        let size = if !fits(MIN_SIZE) {
            MIN_SIZE
        } else {
            let (mut lo, mut hi) = (MIN_SIZE, max);
            while lo < hi {
                let mid = lo + (hi - lo).div_ceil(2);
                if fits(mid) { lo = mid } else { hi = mid - 1 }
            }
            lo
        };
        let s = size as f32;
        let (aw, ah) = avail(size);
        let limit = aw.max(0.0) / s;
        let mut lines = wrap(&paras, &hyphen, limit);
        // Balance: the narrowest limit that keeps the same number of lines, so a caption wraps
        // as "ONE DOES NOT / SIMPLY WALK" rather than "ONE DOES NOT SIMPLY / WALK".
        if lines.len() > 1 {
            let n = lines.len();
            let (mut lo, mut hi) = (0.0f32, limit);
            for _ in 0..16 {
                let mid = (lo + hi) / 2.0;
                if wrap(&paras, &hyphen, mid).len() <= n { hi = mid } else { lo = mid }
            }
            let balanced = wrap(&paras, &hyphen, hi);
            // Moving words between lines changes which glyphs sit on the first and last lines
            // (a "Q" tail, an accent), so the balanced block must fit again.
            let (bw, bh) = extent(&inks(&balanced), &metrics);
            if balanced.len() == n && bw * s <= aw && bh * s <= ah {
                lines = balanced;
            }
        }
        let shaped: Vec<ShapedLine> = lines.iter().map(|l| shape_line(&shaper, &paras, l)).collect();
        let drawn: Vec<_> = shaped.iter().map(|l| l.ink).collect();
        let (w, h) = extent(&drawn, &metrics);
        if size == MIN_SIZE || (w * s <= aw && h * s <= ah) {
            break (size, lines, shaped, drawn);
        }
        max = size - 1;
    };

    let s = size as f32;
    let (_, ah) = avail(size);
    let (baselines, block_h) = stack(&drawn, &metrics);
    let m = margin(size, req.outline);
    let inner = PxRect { x0: region.x0 + m, y0: region.y0 + m, x1: region.x1 - m, y1: region.y1 - m };
    let block_px = (block_h * s).min(ah.max(0.0));
    let top_px = match req.valign {
        VAlign::Top => inner.y0 as f32,
        VAlign::Middle => inner.y0 as f32 + (ah - block_px) / 2.0,
        VAlign::Bottom => inner.y1 as f32 - block_px,
    };

    let r = outline_radius(size, req.outline) as i32;
    let mut glyphs = Vec::new();
    let mut bounds: Option<PxRect> = None;
    let (mut dropped, mut missing) = (0, 0);
    for (line, baseline) in shaped.iter().zip(&baselines) {
        let Some([ix0, _, ix1, _]) = line.ink else { continue };
        let baseline = top_px + baseline * s;
        let pen0 = match req.align {
            Align::Left => inner.x0 as f32 - ix0 * s,
            Align::Center => (inner.x0 + inner.x1) as f32 / 2.0 - (ix0 + ix1) / 2.0 * s,
            Align::Right => inner.x1 as f32 - ix1 * s,
        };
        for g in &line.glyphs {
            let Some(ink) = fonts.ink(g.font, g.id) else { continue };
            let k = fonts.unit_scale(g.font, req.font) * s;
            let px = pen0 + (g.pen + g.dx) * s;
            let x = px.floor();
            let phase = ((px - x) * 4.0).floor().clamp(0.0, 3.0) as u8;
            let (x, y) = (x as i32, (baseline + g.dy * s).round() as i32);
            let f = f32::from(phase) / 4.0;
            // Same rounding as the rasteriser (floor of min, ceil of max), plus the outline and
            // its soft edge, and one pixel for the quarter-pixel rounding of the raster's scale.
            let b = PxRect {
                x0: x + (ink[0] * k + f).floor() as i32 - r - 2,
                y0: y + (ink[1] * k).floor() as i32 - r - 2,
                x1: x + (ink[2] * k + f).ceil() as i32 + r + 2,
                y1: y + (ink[3] * k).ceil() as i32 + r + 2,
            };
            if !region.contains(&b) {
                dropped += 1;
                continue;
            }
            if g.is_notdef() {
                missing += 1;
            }
            bounds = Some(bounds.map_or(b, |o| o.union(&b)));
            let scale_q = (fonts.px_scale(g.font, req.font, s) * 4.0).round() as u32;
            glyphs.push(PlacedGlyph { font: g.font, id: g.id, x, y, phase, scale_q });
        }
    }
    TextLayout { size, outline_radius: r as u32, region, bounds, lines: lines.len(), dropped, missing, glyphs }
}

/// The characters of `text` that no font can draw (they would show as a missing-glyph box).
pub(crate) fn missing_characters(tools: &TextTools<'_>, text: &str, font: FontChoice) -> Vec<char> {
    let (text, shaper) = prepare(tools, text, font);
    let mut out = Vec::new();
    for para in text.split('\n') {
        let glyphs = shaper.shape(para, super::text::shape::base_level(para));
        let mut clusters: Vec<usize> = glyphs.iter().filter(|g| g.is_notdef()).map(|g| g.cluster as usize).collect();
        clusters.sort_unstable();
        clusters.dedup();
        out.extend(clusters.into_iter().filter_map(|c| para[c..].chars().next()).filter(|c| !c.is_whitespace()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools() -> TextTools<'static> {
        let fonts = Box::leak(Box::new(FontSet::embedded().unwrap()));
        TextTools { fonts, plans: Box::leak(Box::default()), layouts: Box::leak(Box::default()) }
    }

    fn req(text: &str, w: i32, h: i32) -> LayoutRequest<'_> {
        LayoutRequest {
            text,
            font: FontChoice::Anton,
            align: Align::Center,
            valign: VAlign::Middle,
            rect: PxRect { x0: 0, y0: 0, x1: w, y1: h },
            canvas: PxRect { x0: 0, y0: 0, x1: w, y1: h },
            max_size: 400,
            outline: true,
        }
    }

    /// The lines of a layout as text (for tests): wraps at the size the layout chose.
    fn lines_of(tools: &TextTools<'_>, text: &str, w: i32, h: i32) -> Vec<String> {
        let r = req(text, w, h);
        let l = layout(tools, &r);
        let shaper = Shaper { fonts: tools.fonts, plans: tools.plans, choice: r.font, han: Default::default() };
        let paras: Vec<Paragraph> = normalise(text).split('\n').map(|p| Paragraph::new(&shaper, p.into())).collect();
        let hyphen = Hyphen { advance: 0.1, ink: None };
        let limit = (w - 2 * margin(l.size, true)) as f32 / l.size as f32;
        let spans = wrap(&paras, &hyphen, limit);
        spans
            .iter()
            .map(|s| {
                let p = &paras[s.para];
                let t = if s.start < s.end { &p.text[p.units[s.start].start..p.units[s.end - 1].end] } else { "" };
                format!("{}{}", t.trim_end(), if s.hyphen { "-" } else { "" })
            })
            .collect()
    }

    #[test]
    fn a_repeated_request_is_laid_out_once() {
        let t = tools();
        let a = layout(&t, &req("ONE DOES NOT SIMPLY", 600, 200));
        let b = layout(&t, &req("ONE DOES NOT SIMPLY", 600, 200));
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        assert_eq!(t.layouts.len(), 1);
        let c = layout(&t, &req("ONE DOES NOT SIMPLY", 500, 200));
        assert_ne!(format!("{a:?}"), format!("{c:?}"));
        assert_eq!(t.layouts.len(), 2);
    }

    #[test]
    fn longer_text_gets_a_smaller_size() {
        let t = tools();
        let short = layout(&t, &req("HELLO", 600, 150));
        let long = layout(&t, &req("HELLO THERE THIS IS A MUCH LONGER CAPTION THAN BEFORE", 600, 150));
        assert!(short.size > long.size, "{} vs {}", short.size, long.size);
        assert!(long.lines >= 2);
        assert_eq!(long.dropped, 0);
    }

    #[test]
    fn balanced_wrap_keeps_lines_of_similar_width() {
        let t = tools();
        let l = layout(&t, &req("ONE DOES NOT SIMPLY WALK INTO MORDOR", 400, 400));
        assert!(l.lines >= 2);
        assert_eq!(l.dropped, 0);
    }

    #[test]
    fn a_word_longer_than_the_box_is_broken_not_spilled() {
        let t = tools();
        let l = layout(&t, &req(&"W".repeat(200), 100, 100));
        let b = l.bounds.unwrap();
        assert!(l.region.contains(&b));
        assert!(l.lines > 1);
    }

    #[test]
    fn a_long_word_breaks_at_a_hyphenation_point_with_a_hyphen() {
        let t = tools();
        let word = "DONAUDAMPFSCHIFFFAHRTSGESELLSCHAFTSKAPITÄNSMÜTZE";
        let lines = lines_of(&t, word, 300, 300);
        assert!(lines.len() >= 2, "{lines:?}");
        for l in &lines[..lines.len() - 1] {
            assert!(l.ends_with('-'), "{lines:?}");
        }
        // Every piece is a dictionary break: "DONAU-", "DAMPF-", "SCHIFF-", never "DONAUDA-".
        let points = crate::render::text::breaks::hyphenation_points(word, true);
        let mut at = 0;
        for l in &lines[..lines.len() - 1] {
            at += l.len() - 1;
            assert!(points.contains(&at), "{lines:?} breaks at {at}, not one of {points:?}");
        }
        assert_eq!(lines.concat().replace('-', ""), word);
    }

    #[test]
    fn cjk_wraps_between_ideographs_without_hyphens() {
        let t = tools();
        let text = "吾輩は猫である名前はまだ無いどこで生れたかとんと見当がつかぬ";
        let lines = lines_of(&t, text, 300, 600);
        assert!(lines.len() >= 2, "{lines:?}");
        assert!(lines.iter().all(|l| !l.ends_with('-')));
        assert_eq!(lines.concat(), text);
        assert_eq!(layout(&t, &req(text, 300, 600)).missing, 0);
    }

    #[test]
    fn empty_and_blank_text_draws_nothing() {
        let t = tools();
        for s in ["", "   ", "\n\n", "\u{200D}\u{FE0F}", "\u{85}\u{1}"] {
            let l = layout(&t, &req(s, 300, 100));
            assert!(l.glyphs.is_empty() && l.bounds.is_none(), "{s:?}");
        }
    }

    #[test]
    fn control_characters_and_emoji_names_are_normalised() {
        assert_eq!(normalise("a\r\nb\rc\u{2028}d\te\u{85}f"), "a\nb\nc\nd ef");
        assert_eq!(normalise("GG :THUMBSUP:"), "GG 👍");
    }
}
