//! Glyph rasters: coverage rasterised once per (font, glyph, size, outline radius) and its
//! outline made once by dilating that coverage, then cached for every later render.

use super::fonts::{FontIdx, FontSet};
use ab_glyph::{Font, Glyph, GlyphId, PxScale, point};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Cache size bound: a few thousand rasters (a few MB) covers the sizes a busy site's popular
/// templates use; past it the cache is simply emptied (cheap to refill, no LRU bookkeeping).
const MAX_CACHED_GLYPHS: usize = 4096;

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
}

type Key = (FontIdx, u16, u32, u32);

#[derive(Default)]
pub(crate) struct GlyphCache {
    map: Mutex<HashMap<Key, Option<Arc<GlyphRaster>>>>,
}

impl GlyphCache {
    /// The raster for a glyph, from the cache or made now. None for glyphs without outlines.
    pub fn get(&self, fonts: &FontSet, font: FontIdx, id: GlyphId, size: u32, radius: u32) -> Option<Arc<GlyphRaster>> {
        let key = (font, id.0, size, radius);
        // A poisoned lock only means another render panicked mid-insert; the map is still valid.
        if let Some(hit) = self.map.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return hit.clone();
        }
        let made = rasterize(fonts, font, id, size, radius).map(Arc::new);
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_CACHED_GLYPHS {
            map.clear();
        }
        map.insert(key, made.clone());
        made
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

fn rasterize(fonts: &FontSet, font: FontIdx, id: GlyphId, size: u32, radius: u32) -> Option<GlyphRaster> {
    let glyph = Glyph { id, scale: PxScale::from(size as f32), position: point(0.0, 0.0) };
    let outlined = fonts.font(font).outline_glyph(glyph)?;
    let b = outlined.px_bounds();
    // The frame holds the outline too: `radius` plus one pixel for its soft edge on each side.
    let pad = if radius > 0 { radius as usize + 1 } else { 0 };
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
    Some(GlyphRaster { x0: b.min.x as i32 - pad as i32, y0: b.min.y as i32 - pad as i32, w, h, fill, outline })
}

/// Soft disk dilation: out(p) = max over offsets o within radius+1 of coverage(p+o) × w(|o|),
/// w falling from 1 to 0 across the last pixel, so the outline edge is anti-aliased and round.
/// Only edge pixels are stamped: a pixel inside the glyph (itself and its four neighbours fully
/// covered) adds nothing its edge neighbours do not, so the cost is perimeter × r², not area × r².
fn dilate(cov: &[u8], w: usize, h: usize, radius: u32) -> Vec<u8> {
    let r = radius as f32;
    let reach = radius as i32 + 1;
    let mut kernel: Vec<(i32, i32, u16)> = Vec::new();
    for dy in -reach..=reach {
        for dx in -reach..=reach {
            let d = ((dx * dx + dy * dy) as f32).sqrt();
            let wgt = (r + 0.5 - d).clamp(0.0, 1.0);
            if wgt > 0.0 {
                kernel.push((dx, dy, (wgt * 256.0) as u16));
            }
        }
    }
    let mut out = vec![0u8; w * h];
    let full = |x: usize, y: usize| cov[y * w + x] == 255;
    for y in 0..h {
        for x in 0..w {
            let c = cov[y * w + x];
            if c == 0 {
                continue;
            }
            let interior = c == 255
                && x > 0
                && y > 0
                && x + 1 < w
                && y + 1 < h
                && full(x - 1, y)
                && full(x + 1, y)
                && full(x, y - 1)
                && full(x, y + 1);
            if interior {
                out[y * w + x] = 255;
                continue;
            }
            for &(dx, dy, wgt) in &kernel {
                let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                if nx < 0 || ny < 0 || nx >= w as i32 || ny >= h as i32 {
                    continue;
                }
                let v = ((u16::from(c) * wgt) >> 8) as u8;
                let o = &mut out[ny as usize * w + nx as usize];
                if v > *o {
                    *o = v;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outline_covers_the_glyph_and_reaches_radius_further() {
        let fonts = FontSet::embedded().unwrap();
        let id = fonts.font(0).glyph_id('I');
        let g = rasterize(&fonts, 0, id, 100, 5).unwrap();
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
        let a = cache.get(&fonts, 0, id, 40, 2).unwrap();
        let b = cache.get(&fonts, 0, id, 40, 2).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(cache.len(), 1);
        assert!(cache.get(&fonts, 0, fonts.font(0).glyph_id(' '), 40, 2).is_none());
    }
}
