//! Word wrap and the font-size search. Pure arithmetic on normalised metrics: no glyph is
//! rasterised and no font re-loaded while searching, so a fit costs microseconds.

use super::fonts::{FontIdx, FontSet, ShapedChar};
use super::spec::{Align, FontChoice, VAlign};
use ab_glyph::GlyphId;

/// Smallest font size (px scale) the search goes down to; text that does not fit at this size
/// is cut at the last line that fits rather than drawn outside its box.
pub const MIN_SIZE: u32 = 6;

/// Outline thickness as a fraction of the font size (px scale). 0.05 of Anton's size is about
/// 1/13 of its cap height: the weight of the classic Impact meme outline.
const OUTLINE_PER_SIZE: f32 = 0.05;

/// A pixel rectangle, half-open: `x0 <= x < x1`, `y0 <= y < y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// A glyph to draw: pen position on the baseline, in pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlacedGlyph {
    pub font: FontIdx,
    pub id: GlyphId,
    pub x: i32,
    pub y: i32,
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
    /// Characters no font has, drawn as the font's missing-glyph box.
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

struct Word {
    chars: Vec<ShapedChar>,
    width: f32,
}

struct Line {
    chars: Vec<ShapedChar>,
}

impl Line {
    /// Ink extents of the line, normalised: (x0, x1, top, bottom), or None if it has no ink.
    fn ink(&self) -> Option<[f32; 4]> {
        let mut pen = 0.0;
        let mut out: Option<[f32; 4]> = None;
        for c in &self.chars {
            if let Some([x0, y0, x1, y1]) = c.ink {
                let g = [pen + x0, pen + x1, y0, y1];
                out = Some(match out {
                    None => g,
                    Some(o) => [o[0].min(g[0]), o[1].max(g[1]), o[2].min(g[2]), o[3].max(g[3])],
                });
            }
            pen += c.advance;
        }
        out
    }
}

/// Upper-cases (if asked), splits into paragraphs on newlines and into words on white space.
fn shape(fonts: &FontSet, text: &str, font: FontChoice) -> (Vec<Vec<Word>>, ShapedChar) {
    let space = fonts.shape_char(font, ' ').unwrap_or(ShapedChar {
        font: FontSet::primary(font),
        id: GlyphId(0),
        advance: 0.25,
        ink: None,
    });
    let text = text.replace("\r\n", "\n").replace(['\r', '\u{2028}', '\u{2029}'], "\n");
    let paras = text
        .split('\n')
        .map(|p| {
            p.split(char::is_whitespace)
                .filter(|w| !w.is_empty())
                .map(|w| {
                    let chars: Vec<ShapedChar> = w.chars().filter_map(|c| fonts.shape_char(font, c)).collect();
                    let width = chars.iter().map(|c| c.advance).sum();
                    Word { chars, width }
                })
                .filter(|w| !w.chars.is_empty())
                .collect()
        })
        .collect();
    (paras, space)
}

/// Greedy wrap at `limit` (normalised width). Words longer than the limit are broken between
/// characters, so any word fits once a single character does.
fn wrap(paras: &[Vec<Word>], space: ShapedChar, limit: f32) -> Vec<Line> {
    let mut lines = Vec::new();
    for para in paras {
        let mut cur: Vec<ShapedChar> = Vec::new();
        let mut cur_w = 0.0f32;
        for word in para {
            if word.width > limit {
                // Break the long word: start it on the current line if anything of it fits.
                if !cur.is_empty() {
                    cur.push(space);
                    cur_w += space.advance;
                }
                for &c in &word.chars {
                    if cur_w + c.advance > limit && !cur.is_empty() {
                        trim_trailing_space(&mut cur);
                        lines.push(Line { chars: std::mem::take(&mut cur) });
                        cur_w = 0.0;
                    }
                    cur.push(c);
                    cur_w += c.advance;
                }
            } else if cur.is_empty() {
                cur.extend_from_slice(&word.chars);
                cur_w = word.width;
            } else if cur_w + space.advance + word.width <= limit {
                cur.push(space);
                cur.extend_from_slice(&word.chars);
                cur_w += space.advance + word.width;
            } else {
                lines.push(Line { chars: std::mem::take(&mut cur) });
                cur.extend_from_slice(&word.chars);
                cur_w = word.width;
            }
        }
        trim_trailing_space(&mut cur);
        lines.push(Line { chars: cur });
    }
    lines
}

fn trim_trailing_space(chars: &mut Vec<ShapedChar>) {
    while chars.last().is_some_and(|c| c.ink.is_none() && c.id.0 != 0) {
        chars.pop();
    }
}

/// Normalised block size of wrapped lines: (widest ink, height from first ink top to last
/// ink bottom).
fn block_extent(lines: &[Line], line_advance: f32, cap: f32) -> (f32, f32) {
    let width = lines.iter().filter_map(|l| l.ink().map(|i| i[1] - i[0])).fold(0.0, f32::max);
    let n = lines.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let top = lines[0].ink().map(|i| -i[2]).unwrap_or(cap).max(0.0);
    let bottom = lines[n - 1].ink().map(|i| i[3]).unwrap_or(0.0).max(0.0);
    (width, (n - 1) as f32 * line_advance + top + bottom)
}

fn outline_radius(size: u32, outline: bool) -> u32 {
    if outline { ((size as f32 * OUTLINE_PER_SIZE).round() as u32).max(1) } else { 0 }
}

/// Pixels kept free on each side of the text: the outline plus its one-pixel soft edge, one
/// pixel for the rasteriser's floor/ceil of the ink box and one for rounding the pen position.
fn margin(size: u32, outline: bool) -> i32 {
    outline_radius(size, outline) as i32 + 3
}

/// Lays out one box: finds the largest size whose wrapped text fits, balances the lines, and
/// places every glyph. Never places a glyph whose ink+outline box leaves the (clamped) box.
pub(crate) fn layout(fonts: &FontSet, req: &LayoutRequest<'_>) -> TextLayout {
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
    let (paras, space) = shape(fonts, req.text, req.font);
    if paras.iter().all(|p| p.is_empty()) {
        return empty(MIN_SIZE);
    }
    let metrics = fonts.metrics(req.font);
    let avail = |size: u32| {
        let m = margin(size, req.outline);
        ((region.width() - 2 * m) as f32, (region.height() - 2 * m) as f32)
    };
    let fits = |size: u32| {
        let (aw, ah) = avail(size);
        if aw <= 0.0 || ah <= 0.0 {
            return false;
        }
        let s = size as f32;
        let lines = wrap(&paras, space, aw / s);
        let (w, h) = block_extent(&lines, metrics.line_advance, metrics.cap_height);
        w * s <= aw && h * s <= ah
    };

    // Binary search: the largest size in [MIN_SIZE, max] that fits (fitting is monotone in the
    // size up to rounding, which the margin absorbs).
    let max = req.max_size.max(MIN_SIZE);
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
    let mut lines = wrap(&paras, space, limit);

    // Balance: the narrowest limit that keeps the same number of lines, so a caption wraps as
    // "ONE DOES NOT / SIMPLY WALK" rather than "ONE DOES NOT SIMPLY / WALK".
    if lines.len() > 1 {
        let n = lines.len();
        let (mut lo, mut hi) = (0.0f32, limit);
        for _ in 0..16 {
            let mid = (lo + hi) / 2.0;
            if wrap(&paras, space, mid).len() <= n { hi = mid } else { lo = mid }
        }
        let balanced = wrap(&paras, space, hi);
        // Moving words between lines changes which glyphs sit on the first and last lines
        // (a "Q" tail, an accent), so the balanced block must fit again.
        let (bw, bh) = block_extent(&balanced, metrics.line_advance, metrics.cap_height);
        if balanced.len() == n && bw * s <= aw && bh * s <= ah {
            lines = balanced;
        }
    }

    // Vertical placement of the block, from real ink extents.
    let (_, block_h) = block_extent(&lines, metrics.line_advance, metrics.cap_height);
    let m = margin(size, req.outline);
    let inner = PxRect { x0: region.x0 + m, y0: region.y0 + m, x1: region.x1 - m, y1: region.y1 - m };
    let block_px = (block_h * s).min(ah.max(0.0));
    let top_px = match req.valign {
        VAlign::Top => inner.y0 as f32,
        VAlign::Middle => inner.y0 as f32 + (ah - block_px) / 2.0,
        VAlign::Bottom => inner.y1 as f32 - block_px,
    };
    let first_top = lines.first().and_then(Line::ink).map(|i| -i[2]).unwrap_or(metrics.cap_height).max(0.0);

    let r = outline_radius(size, req.outline) as i32;
    let mut glyphs = Vec::new();
    let mut bounds: Option<PxRect> = None;
    let mut dropped = 0;
    let mut missing = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some([ix0, ix1, _, _]) = line.ink() else {
            continue;
        };
        let baseline = top_px + (first_top + i as f32 * metrics.line_advance) * s;
        let pen0 = match req.align {
            Align::Left => inner.x0 as f32 - ix0 * s,
            Align::Center => (inner.x0 + inner.x1) as f32 / 2.0 - (ix0 + ix1) / 2.0 * s,
            Align::Right => inner.x1 as f32 - ix1 * s,
        };
        let mut pen = 0.0;
        for c in &line.chars {
            let x = (pen0 + pen * s).round() as i32;
            let y = baseline.round() as i32;
            pen += c.advance;
            let Some([gx0, gy0, gx1, gy1]) = c.ink else {
                continue;
            };
            // Same rounding as the rasteriser (floor of min, ceil of max), plus the outline and
            // its soft edge: the raster's frame exactly.
            let b = PxRect {
                x0: x + (gx0 * s).floor() as i32 - r - 1,
                y0: y + (gy0 * s).floor() as i32 - r - 1,
                x1: x + (gx1 * s).ceil() as i32 + r + 1,
                y1: y + (gy1 * s).ceil() as i32 + r + 1,
            };
            if !region.contains(&b) {
                dropped += 1;
                continue;
            }
            if c.id.0 == 0 {
                missing += 1;
            }
            bounds = Some(bounds.map_or(b, |o| o.union(&b)));
            glyphs.push(PlacedGlyph { font: c.font, id: c.id, x, y });
        }
    }
    TextLayout { size, outline_radius: r as u32, region, bounds, lines: lines.len(), dropped, missing, glyphs }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn longer_text_gets_a_smaller_size() {
        let fonts = FontSet::embedded().unwrap();
        let short = layout(&fonts, &req("HELLO", 600, 150));
        let long = layout(&fonts, &req("HELLO THERE THIS IS A MUCH LONGER CAPTION THAN BEFORE", 600, 150));
        assert!(short.size > long.size, "{} vs {}", short.size, long.size);
        assert!(long.lines >= 2);
        assert_eq!(long.dropped, 0);
    }

    #[test]
    fn balanced_wrap_keeps_lines_of_similar_width() {
        let fonts = FontSet::embedded().unwrap();
        let (paras, space) = shape(&fonts, "ONE DOES NOT SIMPLY WALK INTO MORDOR", FontChoice::Anton);
        let total: f32 = paras[0].iter().map(|w| w.width).sum();
        let greedy = wrap(&paras, space, total * 0.8);
        assert_eq!(greedy.len(), 2);
        let l = layout(&fonts, &req("ONE DOES NOT SIMPLY WALK INTO MORDOR", 400, 400));
        assert!(l.lines >= 2);
    }

    #[test]
    fn a_word_longer_than_the_box_is_broken_not_spilled() {
        let fonts = FontSet::embedded().unwrap();
        let l = layout(&fonts, &req(&"W".repeat(200), 100, 100));
        let b = l.bounds.unwrap();
        assert!(l.region.contains(&b));
        assert!(l.lines > 1);
    }

    #[test]
    fn empty_and_blank_text_draws_nothing() {
        let fonts = FontSet::embedded().unwrap();
        for t in ["", "   ", "\n\n", "\u{200D}\u{FE0F}"] {
            let l = layout(&fonts, &req(t, 300, 100));
            assert!(l.glyphs.is_empty() && l.bounds.is_none(), "{t:?}");
        }
    }
}
