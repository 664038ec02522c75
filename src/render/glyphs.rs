//! Glyph rasters: coverage rasterised once per (font, glyph, scale, sub-pixel phase, outline
//! radius) and its outline made once by dilating that coverage, then cached for every later
//! render. Colour emoji are their font's PNG bitmap, scaled, with the alpha as coverage.

use super::fonts::{FontIdx, FontSet, IDX_COLOR_EMOJI};
use super::layout::PlacedGlyph;
use ab_glyph::{Font, Glyph, GlyphId, PxScale, point};
use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Cache bound: the pixels a busy site's popular templates and sizes use fit in it (a Latin
/// glyph with its outline is a few KB; a CJK caption brings a few dozen new ones); past it the
/// cache is simply emptied (cheap to refill, no LRU bookkeeping). Kept small: it is part of
/// the 150 MB a server may hold under load.
const MAX_CACHED_BYTES: usize = 12 * 1024 * 1024;

/// Coverage of a glyph and of its outline, in one frame of `w`×`h` pixels whose top-left is at
/// (`x0`, `y0`) from the pen position on the baseline.
#[derive(Debug)]
pub(crate) struct GlyphRaster {
    pub x0: i32,
    pub y0: i32,
    pub w: usize,
    pub h: usize,
    pub fill: Vec<u8>,
    /// Empty when the radius is 0.
    pub outline: Vec<u8>,
    /// RGB per pixel for colour glyphs (the fill is then their alpha); None: drawn in the
    /// text's colour.
    pub colour: Option<Vec<u8>>,
}

impl GlyphRaster {
    fn bytes(&self) -> usize {
        self.fill.len() + self.outline.len() + self.colour.as_ref().map_or(0, Vec::len) + 64
    }
}

/// (font, glyph, scale in quarter pixels, outline radius, sub-pixel phase)
type Key = (FontIdx, u16, u32, u32, u8);

#[derive(Default)]
struct Entries {
    map: HashMap<Key, Option<Arc<GlyphRaster>>>,
    bytes: usize,
}

#[derive(Default)]
pub(crate) struct GlyphCache {
    entries: Mutex<Entries>,
    pub hits: super::hits::HitCounts,
}

impl GlyphCache {
    /// The raster for a placed glyph, from the cache or made now. None for blank glyphs.
    pub fn get(&self, fonts: &FontSet, g: &PlacedGlyph, radius: u32) -> Option<Arc<GlyphRaster>> {
        let key = (g.font, g.id.0, g.scale_q, radius, g.phase);
        // A poisoned lock only means another render panicked mid-insert; the map is still valid.
        if let Some(hit) = self.entries.lock().unwrap_or_else(|e| e.into_inner()).map.get(&key) {
            self.hits.hit();
            return hit.clone();
        }
        self.hits.miss();
        let scale = g.scale_q as f32 / 4.0;
        let phase = f32::from(g.phase) / 4.0;
        let made = if g.font == IDX_COLOR_EMOJI {
            rasterize_bitmap(fonts, g.font, g.id, scale, phase, radius)
        } else {
            rasterize(fonts, g.font, g.id, scale, phase, radius)
        }
        .map(Arc::new);
        let mut e = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let size = made.as_ref().map_or(64, |r| r.bytes());
        if e.bytes + size > MAX_CACHED_BYTES {
            e.map.clear();
            e.bytes = 0;
        }
        if e.map.insert(key, made.clone()).is_none() {
            e.bytes += size;
        }
        made
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).map.len()
    }
}

/// The frame padding for an outline of `radius`: the radius plus one pixel for its soft edge.
fn pad_for(radius: u32) -> usize {
    if radius > 0 { radius as usize + 1 } else { 0 }
}

fn rasterize(fonts: &FontSet, font: FontIdx, id: GlyphId, scale: f32, phase: f32, radius: u32) -> Option<GlyphRaster> {
    let glyph = Glyph { id, scale: PxScale::from(scale), position: point(phase, 0.0) };
    let outlined = fonts.font(font).outline_glyph(glyph)?;
    let b = outlined.px_bounds();
    let pad = pad_for(radius);
    let gw = b.width().max(0.0) as usize;
    let gh = b.height().max(0.0) as usize;
    let (w, h) = (gw + 2 * pad, gh + 2 * pad);
    let mut fill = vec![0u8; w * h];
    outlined.draw(|x, y, c| {
        let (x, y) = (x as usize + pad, y as usize + pad);
        if x < w && y < h {
            fill[y * w + x] = (c.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    });
    let outline = if radius > 0 { dilate(&fill, w, h, radius) } else { Vec::new() };
    let (x0, y0) = (b.min.x as i32 - pad as i32, b.min.y as i32 - pad as i32);
    Some(GlyphRaster { x0, y0, w, h, fill, outline, colour: None })
}

/// A colour bitmap glyph (CBDT): its PNG decoded, scaled into the frame its ink box takes at
/// this size, its alpha used as coverage (so the outline follows the emoji's shape).
fn rasterize_bitmap(
    fonts: &FontSet,
    font: FontIdx,
    id: GlyphId,
    scale: f32,
    phase: f32,
    radius: u32,
) -> Option<GlyphRaster> {
    let img = fonts.shaper(font).glyph_raster_image(rustybuzz::ttf_parser::GlyphId(id.0), u16::MAX)?;
    if img.format != rustybuzz::ttf_parser::RasterImageFormat::PNG {
        return None;
    }
    let rgba = image::load_from_memory_with_format(img.data, image::ImageFormat::Png).ok()?.to_rgba8();
    let [ix0, iy0, ix1, iy1] = fonts.ink(font, id)?;
    let k = scale / fonts.font(font).height_unscaled();
    let (x0, y0) = ((ix0 * k + phase).floor() as i32, (iy0 * k).floor() as i32);
    let (x1, y1) = ((ix1 * k + phase).ceil() as i32, (iy1 * k).ceil() as i32);
    let (gw, gh) = ((x1 - x0).max(1) as u32, (y1 - y0).max(1) as u32);
    let src = Image::from_vec_u8(rgba.width(), rgba.height(), rgba.into_raw(), PixelType::U8x4).ok()?;
    let mut dst = Image::new(gw, gh, PixelType::U8x4);
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    Resizer::new().resize(&src, &mut dst, &opts).ok()?;
    let px = dst.into_vec();
    let pad = pad_for(radius);
    let (w, h) = (gw as usize + 2 * pad, gh as usize + 2 * pad);
    let mut fill = vec![0u8; w * h];
    let mut colour = vec![0u8; w * h * 3];
    for (i, p) in px.chunks_exact(4).enumerate() {
        let (x, y) = (i % gw as usize + pad, i / gw as usize + pad);
        fill[y * w + x] = p[3];
        colour[(y * w + x) * 3..][..3].copy_from_slice(&p[..3]);
    }
    let outline = if radius > 0 { dilate(&fill, w, h, radius) } else { Vec::new() };
    Some(GlyphRaster { x0: x0 - pad as i32, y0: y0 - pad as i32, w, h, fill, outline, colour: Some(colour) })
}

/// Soft disk dilation: out(p) = max over offsets o within radius+1 of coverage(p+o) × w(|o|),
/// w falling from 1 to 0 across the last pixel, so the outline edge is anti-aliased and round.
/// A pixel inside the glyph (itself and its four neighbours fully covered) adds nothing its edge
/// neighbours do not: only edge pixels spread.
///
/// It runs a row at a time, so that each step is one pass over a row of bytes that the compiler
/// turns into vector instructions. The disk's offsets of full weight form, per row offset dy, one
/// run `-a..=a`: spreading over it is a flat dilation of the row (a max over a sliding window,
/// made by growing a by one `a` times). The anti-aliased rim's few dozen offsets spread a scaled
/// copy of the row each. The result is exactly the per-pixel stamping's (`tests`), at about a
/// fifth of its instructions: a cold render spent a third of its time here.
fn dilate(cov: &[u8], w: usize, h: usize, radius: u32) -> Vec<u8> {
    let kernel = DiskRows::new(radius);
    let mut out = vec![0u8; w * h];
    // The row's spreading pixels, and its flat dilations by 0, 1, … the widest full run.
    let mut spreading = vec![0u8; w];
    let mut grown: Vec<Vec<u8>> = (0..=kernel.widest).map(|_| vec![0u8; w]).collect();
    for y in 0..h {
        let row = &cov[y * w..][..w];
        let (mut first, mut last) = (usize::MAX, 0);
        for (x, (&c, s)) in row.iter().zip(spreading.iter_mut()).enumerate() {
            if interior(cov, w, h, x, y) {
                out[y * w + x] = 255;
                *s = 0;
            } else {
                *s = c;
                if c > 0 {
                    first = first.min(x);
                    last = x;
                }
            }
        }
        if first == usize::MAX {
            continue;
        }
        // Only the span that has spreading pixels, and as far as they reach, is worked on.
        let span = first..last + 1;
        grown[0][span.clone()].copy_from_slice(&spreading[span.clone()]);
        for a in 1..=kernel.widest {
            let (before, after) = grown.split_at_mut(a);
            let (prev, next) = (&before[a - 1], &mut after[0]);
            // The last dilation holds this row's values on its span only; past it, zero.
            let valid = first.saturating_sub(a - 1)..(last + a).min(w);
            let at = |x: usize| if valid.contains(&x) { prev[x] } else { 0 };
            let lo = first.saturating_sub(a);
            for (x, value) in next.iter_mut().enumerate().take((last + a + 1).min(w)).skip(lo) {
                let left = if x > 0 { at(x - 1) } else { 0 };
                *value = left.max(at(x)).max(at(x + 1));
            }
        }
        for kernel_row in &kernel.rows {
            let Some(ty) = y.checked_add_signed(kernel_row.dy).filter(|&ty| ty < h) else { continue };
            let target = &mut out[ty * w..][..w];
            if let Some(a) = kernel_row.full {
                let (lo, hi) = (first.saturating_sub(a), (last + a + 1).min(w));
                for (o, &g) in target[lo..hi].iter_mut().zip(&grown[a][lo..hi]) {
                    *o = (*o).max(g);
                }
            }
            for &(dx, weight) in &kernel_row.rim {
                // Sources x in the span whose target x + dx is on the row.
                let lo = first.max(dx.unsigned_abs() * usize::from(dx < 0));
                let hi = (last + 1).min(if dx > 0 { w.saturating_sub(dx as usize) } else { w });
                if lo >= hi {
                    continue;
                }
                let shifted = &mut target[lo.wrapping_add_signed(dx)..hi.wrapping_add_signed(dx)];
                for (o, &c) in shifted.iter_mut().zip(&spreading[lo..hi]) {
                    *o = (*o).max(((u16::from(c) * weight) >> 8) as u8);
                }
            }
        }
    }
    out
}

/// The soft disk of `dilate`, by row offset: the run of full weight, and the rim's weights.
struct DiskRows {
    rows: Vec<DiskRow>,
    /// The widest full run's half-width.
    widest: usize,
}

struct DiskRow {
    dy: isize,
    /// Half-width `a` of the run `-a..=a` of full weight, if the row has one.
    full: Option<usize>,
    /// (dx, weight in 1/256) where the weight is partial.
    rim: Vec<(isize, u16)>,
}

impl DiskRows {
    fn new(radius: u32) -> Self {
        let reach = radius as isize + 1;
        let rows: Vec<DiskRow> = (-reach..=reach)
            .map(|dy| {
                let (mut full, mut rim) = (None, Vec::new());
                for dx in -reach..=reach {
                    let weight = disk_weight(radius, dx, dy);
                    if weight == 256 {
                        full = Some(dx.unsigned_abs().max(full.unwrap_or(0)));
                    } else if weight > 0 {
                        rim.push((dx, weight));
                    }
                }
                DiskRow { dy, full, rim }
            })
            .collect();
        let widest = rows.iter().filter_map(|r| r.full).max().unwrap_or(0);
        Self { rows, widest }
    }
}

/// Whether the pixel at (`x`, `y`) is inside the glyph: itself and its four neighbours fully
/// covered. Such a pixel spreads nothing its edge neighbours do not.
#[inline(always)]
fn interior(cov: &[u8], w: usize, h: usize, x: usize, y: usize) -> bool {
    let full = |x: usize, y: usize| cov[y * w + x] == 255;
    full(x, y)
        && x > 0
        && y > 0
        && x + 1 < w
        && y + 1 < h
        && full(x - 1, y)
        && full(x + 1, y)
        && full(x, y - 1)
        && full(x, y + 1)
}

/// The weight (in 1/256) of the offset (dx, dy) in a soft disk of `radius`.
fn disk_weight(radius: u32, dx: isize, dy: isize) -> u16 {
    let d = ((dx * dx + dy * dy) as f32).sqrt();
    let weight = (radius as f32 + 0.5 - d).clamp(0.0, 1.0);
    (weight * 256.0) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(font: FontIdx, id: GlyphId, scale_q: u32) -> PlacedGlyph {
        PlacedGlyph { font, id, x: 0, y: 0, phase: 0, scale_q }
    }

    /// The dilation as first written: every edge pixel stamps the whole soft disk.
    fn dilate_by_stamping(cov: &[u8], w: usize, h: usize, radius: u32) -> Vec<u8> {
        let reach = radius as isize + 1;
        let mut out = vec![0u8; w * h];
        for y in 0..h {
            for x in 0..w {
                let c = cov[y * w + x];
                if c == 0 {
                    continue;
                }
                if interior(cov, w, h, x, y) {
                    out[y * w + x] = 255;
                    continue;
                }
                for dy in -reach..=reach {
                    for dx in -reach..=reach {
                        let weight = disk_weight(radius, dx, dy);
                        let (nx, ny) = (x as isize + dx, y as isize + dy);
                        if weight == 0 || nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                            continue;
                        }
                        let v = ((u16::from(c) * weight) >> 8) as u8;
                        let o = &mut out[ny as usize * w + nx as usize];
                        *o = (*o).max(v);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn the_row_dilation_is_exactly_the_stamping_one() {
        use rand::{Rng, SeedableRng};
        let fonts = FontSet::embedded().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for radius in [1, 2, 3, 5, 8] {
            // Real glyphs, with their padding …
            for ch in ['A', 'g', 'W', '.'] {
                let id = fonts.font(0).glyph_id(ch);
                let g = rasterize(&fonts, 0, id, 90.0, 0.25, radius).unwrap();
                assert_eq!(g.outline, dilate_by_stamping(&g.fill, g.w, g.h, radius), "{ch} at radius {radius}");
            }
            // … and noise touching every border.
            for (w, h) in [(1, 1), (3, 17), (40, 9), (33, 33)] {
                let cov: Vec<u8> = (0..w * h)
                    .map(|_| match rng.gen_range(0..4) {
                        0 => 0,
                        1 => 255,
                        _ => rng.r#gen(),
                    })
                    .collect();
                assert_eq!(dilate(&cov, w, h, radius), dilate_by_stamping(&cov, w, h, radius), "{w}×{h}, r {radius}");
            }
        }
    }

    #[test]
    fn outline_covers_the_glyph_and_reaches_radius_further() {
        let fonts = FontSet::embedded().unwrap();
        let id = fonts.font(0).glyph_id('I');
        let g = rasterize(&fonts, 0, id, 100.0, 0.0, 5).unwrap();
        let fill_px = g.fill.iter().filter(|&&c| c > 128).count();
        let outline_px = g.outline.iter().filter(|&&c| c > 128).count();
        assert!(fill_px > 100);
        assert!(outline_px > fill_px + 5 * 2 * 40, "{outline_px} vs {fill_px}");
        for (f, o) in g.fill.iter().zip(&g.outline) {
            assert!(o >= f, "the outline must be under every filled pixel");
        }
    }

    #[test]
    fn cache_returns_the_same_raster() {
        let fonts = FontSet::embedded().unwrap();
        let cache = GlyphCache::default();
        let id = fonts.font(0).glyph_id('A');
        let a = cache.get(&fonts, &placed(0, id, 160), 2).unwrap();
        let b = cache.get(&fonts, &placed(0, id, 160), 2).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&fonts, &placed(0, fonts.font(0).glyph_id(' '), 160), 2).is_none());
    }

    #[test]
    fn colour_emoji_are_bitmaps_in_colour_with_an_outline_around_their_shape() {
        let fonts = FontSet::embedded().unwrap();
        // 😂 in Noto Color Emoji, shaped the way the layout does.
        let id = GlyphId(fonts.shaper(IDX_COLOR_EMOJI).glyph_index('😂').unwrap().0);
        let g = rasterize_bitmap(&fonts, IDX_COLOR_EMOJI, id, 80.0, 0.0, 3).unwrap();
        let colour = g.colour.as_ref().unwrap();
        // Mostly yellow face: red and green high, blue low where opaque.
        let opaque: Vec<usize> = (0..g.w * g.h).filter(|&i| g.fill[i] == 255).collect();
        assert!(opaque.len() > g.w * g.h / 3, "{} of {}", opaque.len(), g.w * g.h);
        let yellow = opaque
            .iter()
            .filter(|&&i| colour[i * 3] > 200 && colour[i * 3 + 1] > 150 && colour[i * 3 + 2] < 100)
            .count();
        assert!(yellow > opaque.len() / 3, "{yellow} yellow of {}", opaque.len());
        // The outline is a ring around the round face, not around its square bitmap: the
        // frame's corners stay clear.
        assert_eq!(g.outline[0], 0);
        assert!(g.outline.iter().zip(&g.fill).all(|(o, f)| o >= f));
        assert!(g.outline.iter().filter(|&&o| o > 128).count() > opaque.len());
    }
}
