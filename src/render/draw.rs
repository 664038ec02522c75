//! Compositing laid-out text onto an RGB canvas: all outlines first, then all fills, so one
//! glyph's outline never covers its neighbour's fill. Fills are the text's colour, or each
//! pixel's own for colour emoji.

use super::fonts::FontSet;
use super::glyphs::{GlyphCache, GlyphRaster};
use super::layout::TextLayout;
use super::spec::Rgb;

/// A mutable view of packed RGB8 pixels.
pub(crate) struct Canvas<'a> {
    pub data: &'a mut [u8],
    pub width: u32,
    pub height: u32,
}

pub(crate) fn draw_text(
    canvas: &mut Canvas<'_>,
    fonts: &FontSet,
    cache: &GlyphCache,
    l: &TextLayout,
    fill: Rgb,
    outline: Rgb,
) {
    // Clip to the box and the canvas: the layout already keeps glyphs inside, this is the
    // belt to its braces.
    let clip =
        l.region.intersect(&super::layout::PxRect { x0: 0, y0: 0, x1: canvas.width as i32, y1: canvas.height as i32 });
    if clip.is_empty() {
        return;
    }
    let rasters: Vec<_> =
        l.glyphs.iter().filter_map(|g| cache.get(fonts, g, l.outline_radius).map(|r| (g, r))).collect();
    if l.outline_radius > 0 {
        for (g, r) in &rasters {
            blend(canvas, &clip, g.x + r.x0, g.y + r.y0, r.w, r.h, &r.outline, outline);
        }
    }
    for (g, r) in &rasters {
        match &r.colour {
            None => blend(canvas, &clip, g.x + r.x0, g.y + r.y0, r.w, r.h, &r.fill, fill),
            Some(rgb) => blend_colour(canvas, &clip, g.x + r.x0, g.y + r.y0, r, rgb),
        }
    }
}

/// Composites a colour glyph: each pixel its own colour, the coverage as its alpha.
fn blend_colour(canvas: &mut Canvas<'_>, clip: &super::layout::PxRect, ox: i32, oy: i32, r: &GlyphRaster, rgb: &[u8]) {
    let stride = canvas.width as usize * 3;
    let (y_start, y_end) = (clip.y0.max(oy), clip.y1.min(oy + r.h as i32));
    let (x_start, x_end) = (clip.x0.max(ox), clip.x1.min(ox + r.w as i32));
    for y in y_start..y_end {
        let my = (y - oy) as usize;
        let row = &mut canvas.data[y as usize * stride..][..stride];
        for x in x_start..x_end {
            let m = my * r.w + (x - ox) as usize;
            let a = u32::from(r.fill[m]);
            if a == 0 {
                continue;
            }
            let (p, c) = (&mut row[x as usize * 3..x as usize * 3 + 3], &rgb[m * 3..m * 3 + 3]);
            let inv = 255 - a;
            for i in 0..3 {
                p[i] = ((u32::from(p[i]) * inv + u32::from(c[i]) * a + 127) / 255) as u8;
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn blend(
    canvas: &mut Canvas<'_>,
    clip: &super::layout::PxRect,
    ox: i32,
    oy: i32,
    w: usize,
    h: usize,
    mask: &[u8],
    colour: Rgb,
) {
    let stride = canvas.width as usize * 3;
    let [cr, cg, cb] = colour.0.map(u32::from);
    let y_start = clip.y0.max(oy);
    let y_end = clip.y1.min(oy + h as i32);
    let x_start = clip.x0.max(ox);
    let x_end = clip.x1.min(ox + w as i32);
    for y in y_start..y_end {
        let mrow = &mask[(y - oy) as usize * w..][..w];
        let row = &mut canvas.data[y as usize * stride..][..stride];
        for x in x_start..x_end {
            let a = u32::from(mrow[(x - ox) as usize]);
            if a == 0 {
                continue;
            }
            let p = &mut row[x as usize * 3..x as usize * 3 + 3];
            if a == 255 {
                p.copy_from_slice(&colour.0);
                continue;
            }
            let inv = 255 - a;
            p[0] = ((u32::from(p[0]) * inv + cr * a + 127) / 255) as u8;
            p[1] = ((u32::from(p[1]) * inv + cg * a + 127) / 255) as u8;
            p[2] = ((u32::from(p[2]) * inv + cb * a + 127) / 255) as u8;
        }
    }
}
