//! The meme engine: image bytes (or a cached, already-decoded template) and a meme description
//! in, encoded images out. No HTTP here; the web layer calls this from `spawn_blocking`.
//!
//! # Use
//!
//! ```no_run
//! use skyhigh::render::{Engine, MemeSpec, Outputs, Source};
//! let engine = Engine::new().expect("embedded fonts parse");          // once, share in an Arc
//! let spec = MemeSpec::classic(&["one does not simply", "render a meme in 100 ms"]);
//! let out = engine.render(Source::Template("chelsea"), &spec, Outputs::SAVE)?;
//! let display = out.display.expect("asked for");                      // JPEG ≤ 1200×1200
//! let thumb = out.thumbnail.expect("asked for");                      // JPEG ≤ 300×300
//! # Ok::<(), skyhigh::render::RenderError>(())
//! ```
//!
//! * [`Engine`]: `new()`/`with_limits()`; `render(source, &spec, outputs)`; `probe(bytes)`;
//!   `register_template(id, bytes)` to cache a user-uploaded template; `layout(...)` for tests.
//! * [`MemeSpec`] (serde): [`Layout`] Classic | Modern and [`TextBox`]es with fractional
//!   geometry, [`Align`], [`VAlign`], [`FontChoice`] (parse with `str::parse`, list with
//!   [`FontChoice::ALL`]), [`Rgb`] colours (`"#rrggbb"`), upper-casing.
//! * [`Source`]: a template id (builtin or registered) or uploaded bytes.
//! * [`Rendered`]: the requested [`Encoded`] outputs (bytes, mime, width, height). Stills come
//!   out as JPEG, animated GIFs as animated GIF. The original upload is the caller's to keep.
//! * [`RenderError`]: `is_bad_input()` separates 4xx from 5xx.
//! * [`templates::catalog()`]: the builtin templates with their default boxes and attribution.

pub mod cli;
mod decode;
mod draw;
mod encode;
mod error;
mod fonts;
mod gif;
mod gif_scan;
mod glyphs;
mod hits;
mod jpeg;
mod layout;
mod limits;
mod sized;
mod spec;
pub mod templates;
mod text;

pub use decode::{Format, ProbeInfo};
pub use encode::{Encoded, encode_jpeg, fit_within};
pub use error::RenderError;
pub use hits::{CacheReport, HitCounts};
pub use layout::{MIN_SIZE, PxRect, TextLayout};
pub use limits::Limits;
pub use sized::OutputFormat;
pub use spec::{Align, FontChoice, Layout, MAX_BOXES, MAX_TEXT_CHARS, MemeSpec, Rgb, SpecError, TextBox, VAlign};
pub use templates::{BoxSlot, Template};

use draw::Canvas;
use fonts::FontSet;
use glyphs::GlyphCache;
use image::RgbImage;
use layout::{LayoutCache, LayoutRequest, TextTools};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use text::shape::PlanCache;

/// Display images fit within this many pixels on each side.
pub const DISPLAY_MAX: u32 = 1200;
/// Live previews in the editor fit within this.
pub const PREVIEW_MAX: u32 = 600;
/// Thumbnails fit within this.
pub const THUMBNAIL_MAX: u32 = 300;

/// Budget for decoded templates kept in memory: 256 MiB is ~60 display-size templates.
const TEMPLATE_CACHE_BYTES: usize = 256 * 1024 * 1024;

/// The picture to caption.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A builtin template id, or one registered with [`Engine::register_template`]; decoded
    /// once and cached.
    Template(&'a str),
    /// Uploaded bytes in any supported format.
    Upload(&'a [u8]),
}

/// Which encoded images to produce. The editor's live preview asks for `PREVIEW` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outputs {
    pub display: bool,
    pub thumbnail: bool,
    pub preview: bool,
}

impl Outputs {
    /// What saving a meme needs: the display image and its thumbnail.
    pub const SAVE: Outputs = Outputs { display: true, thumbnail: true, preview: false };
    pub const DISPLAY: Outputs = Outputs { display: true, thumbnail: false, preview: false };
    pub const PREVIEW: Outputs = Outputs { display: false, thumbnail: false, preview: true };
    pub const THUMBNAIL: Outputs = Outputs { display: false, thumbnail: true, preview: false };
    pub const ALL: Outputs = Outputs { display: true, thumbnail: true, preview: true };

    fn largest(&self) -> Option<u32> {
        [(self.display, DISPLAY_MAX), (self.preview, PREVIEW_MAX), (self.thumbnail, THUMBNAIL_MAX)]
            .into_iter()
            .find(|(wanted, _)| *wanted)
            .map(|(_, max)| max)
    }

    /// The requested outputs, largest first, with their bounding squares.
    fn wanted(&self) -> Vec<(Kind, u32)> {
        let mut v = Vec::new();
        if self.display {
            v.push((Kind::Display, DISPLAY_MAX));
        }
        if self.preview {
            v.push((Kind::Preview, PREVIEW_MAX));
        }
        if self.thumbnail {
            v.push((Kind::Thumbnail, THUMBNAIL_MAX));
        }
        v
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Display,
    Preview,
    Thumbnail,
}

/// The encoded results of one render.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub display: Option<Encoded>,
    pub thumbnail: Option<Encoded>,
    pub preview: Option<Encoded>,
    /// True when the outputs are animated GIFs.
    pub animated: bool,
    /// Frames drawn (1 for a still).
    pub frames: u32,
}

impl Rendered {
    fn put(&mut self, kind: Kind, e: Encoded) {
        match kind {
            Kind::Display => self.display = Some(e),
            Kind::Preview => self.preview = Some(e),
            Kind::Thumbnail => self.thumbnail = Some(e),
        }
    }
}

#[derive(Clone)]
enum Cached {
    /// Decoded, upright, flattened and already reduced to display size.
    Still(Arc<StillTemplate>),
    /// Animations are streamed, so their bytes are what is kept.
    Animated(Arc<[u8]>),
}

impl Cached {
    fn bytes(&self) -> usize {
        match self {
            Cached::Still(still) => still.image.as_raw().len() + still.display_rows.bytes(),
            Cached::Animated(b) => b.len(),
        }
    }
}

/// A still template as renders use it: its pixels, and the rows of its display JPEG that
/// renders found untouched by their captions (copied into later renders, not encoded again).
struct StillTemplate {
    image: RgbImage,
    display_rows: jpeg::RowCache,
}

impl StillTemplate {
    fn new(image: RgbImage) -> Self {
        let (w, h) = image.dimensions();
        let display_rows = jpeg::RowCache::new(w as usize, h as usize, encode::DISPLAY_QUALITY);
        Self { image, display_rows }
    }
}

/// The picture a still render starts from.
enum Still<'a> {
    /// A cached template: copied before captions are drawn (the cache keeps it).
    Cached(&'a StillTemplate),
    /// Decoded for this render alone: captions are drawn on it in place.
    Decoded(RgbImage),
}

impl Still<'_> {
    fn image(&self) -> &RgbImage {
        match self {
            Still::Cached(still) => &still.image,
            Still::Decoded(image) => image,
        }
    }
}

struct CacheEntry {
    value: Cached,
    last_used: AtomicU64,
}

/// Text laid out for one canvas size, reusable for every frame of an animation.
struct Plan {
    /// Height of the white band added above the image (Modern layout), else 0.
    band: u32,
    boxes: Vec<(TextLayout, Rgb, Rgb)>,
}

/// The meme engine. Build one at start-up and share it (`Arc<Engine>`): it is `Send + Sync`,
/// holds the parsed fonts, the glyph raster cache and the decoded-template cache, and never
/// spawns threads (one render uses one core).
pub struct Engine {
    fonts: FontSet,
    glyphs: GlyphCache,
    plans: PlanCache,
    layouts: LayoutCache,
    templates: RwLock<HashMap<String, CacheEntry>>,
    clock: AtomicU64,
    limits: Limits,
    template_hits: hits::HitCounts,
}

impl Engine {
    /// An engine with the default [`Limits`]. Fails only if an embedded font is broken.
    pub fn new() -> Result<Self, RenderError> {
        Self::with_limits(Limits::default())
    }

    /// An engine with caller-chosen decoding limits.
    pub fn with_limits(limits: Limits) -> Result<Self, RenderError> {
        Ok(Engine {
            fonts: FontSet::embedded().map_err(RenderError::Internal)?,
            glyphs: GlyphCache::default(),
            plans: PlanCache::default(),
            layouts: LayoutCache::default(),
            templates: RwLock::new(HashMap::new()),
            clock: AtomicU64::new(0),
            limits,
            template_hits: hits::HitCounts::default(),
        })
    }

    /// Format and upright dimensions from the header only, checked against the limits.
    /// How the engine's caches have done since start-up: decoded templates, finished
    /// layouts, glyph rasters.
    pub fn cache_reports(&self) -> [CacheReport; 3] {
        [self.template_hits.report("templates"), self.layouts.hits.report("layouts"), self.glyphs.hits.report("glyphs")]
    }

    pub fn probe(&self, bytes: &[u8]) -> Result<ProbeInfo, RenderError> {
        decode::probe(bytes, &self.limits)
    }

    /// Decodes `bytes` and caches them under `id`, so later renders of `Source::Template(id)`
    /// skip decoding. Builtin ids cannot be replaced. Cached user templates may be evicted
    /// when the cache is full: `render` then answers `UnknownTemplate` and the caller
    /// registers again (or renders from `Source::Upload`).
    pub fn register_template(&self, id: &str, bytes: &[u8]) -> Result<ProbeInfo, RenderError> {
        if templates::find(id).is_some() {
            return Err(RenderError::InvalidSpec(format!("template id {id:?} is taken by a builtin template")));
        }
        let info = self.probe(bytes)?;
        let value = self.decode_for_cache(bytes)?;
        self.cache_put(id, value);
        Ok(info)
    }

    /// Forgets a registered template (e.g. after its upload was deleted).
    pub fn forget_template(&self, id: &str) {
        self.templates.write().unwrap_or_else(|e| e.into_inner()).remove(id);
    }

    /// Renders `spec` onto `source` and encodes the requested outputs.
    pub fn render(&self, source: Source<'_>, spec: &MemeSpec, outputs: Outputs) -> Result<Rendered, RenderError> {
        spec.validate().map_err(RenderError::InvalidSpec)?;
        let Some(largest) = outputs.largest() else {
            return Ok(Rendered::default());
        };
        match source {
            Source::Template(id) => match self.cached_template(id)? {
                Cached::Still(still) => self.render_still(Still::Cached(&still), spec, outputs, largest),
                Cached::Animated(bytes) => {
                    self.render_decoded(decode::decode(&bytes, &self.limits, largest)?, spec, outputs, largest)
                }
            },
            Source::Upload(bytes) => {
                self.render_decoded(decode::decode(bytes, &self.limits, largest)?, spec, outputs, largest)
            }
        }
    }

    /// Characters of `text` that no font in the fallback chain of `font` can draw (they would
    /// show as a missing-glyph box). Lets the editor warn before saving.
    pub fn missing_glyphs(&self, text: &str, font: FontChoice) -> Vec<char> {
        layout::missing_characters(&self.tools(), text, font)
    }

    /// The layout of every box of `spec` on a `width`×`height` image (Classic geometry; for
    /// Modern, the boxes of the band above the image). Exposed for tests and the editor.
    pub fn layout(&self, spec: &MemeSpec, width: u32, height: u32) -> Vec<TextLayout> {
        self.plan(spec, width, height).boxes.into_iter().map(|(l, _, _)| l).collect()
    }

    fn render_decoded(
        &self,
        decoded: decode::Decoded<'_>,
        spec: &MemeSpec,
        outputs: Outputs,
        largest: u32,
    ) -> Result<Rendered, RenderError> {
        match decoded {
            decode::Decoded::Still(img) => self.render_still(Still::Decoded(img), spec, outputs, largest),
            decode::Decoded::Animated(anim) => self.render_animated(anim, spec, outputs, largest),
        }
    }

    fn render_still(
        &self,
        src: Still<'_>,
        spec: &MemeSpec,
        outputs: Outputs,
        largest: u32,
    ) -> Result<Rendered, RenderError> {
        let (sw, sh) = src.image().dimensions();
        let (bw, bh) = fit_within(sw, sh, largest, largest);
        // Text is drawn at the largest output size (cheaper than drawing on a 12 MP original,
        // and crisper than drawing small and upscaling); smaller outputs are downscaled from it.
        // A cached template's pixels and kept rows, to compare the drawn rows with.
        let template = match src {
            Still::Cached(still) => Some((still.image.as_raw().as_slice(), &still.display_rows)),
            Still::Decoded(_) => None,
        };
        let base = match src {
            Still::Decoded(img) if (bw, bh) == (sw, sh) => img.into_raw(),
            src => encode::resize_rgb(src.image().as_raw(), sw, sh, bw, bh)?,
        };
        let plan = self.plan(spec, bw, bh);
        let (canvas, cw, ch) = self.apply(&plan, base, bw, bh);
        let mut out = Rendered { frames: 1, ..Rendered::default() };
        // Each output is resized from the previous (larger) one: a thumbnail comes from the
        // display image, not from the original.
        let (mut cur, mut cur_w, mut cur_h) = (canvas, cw, ch);
        for (kind, max) in outputs.wanted() {
            let (ow, oh) = fit_within(cw, ch, max, max);
            if (ow, oh) != (cur_w, cur_h) {
                cur = encode::resize_rgb(&cur, cur_w, cur_h, ow, oh)?;
                (cur_w, cur_h) = (ow, oh);
            }
            let quality = if kind == Kind::Thumbnail { encode::THUMBNAIL_QUALITY } else { encode::DISPLAY_QUALITY };
            // The template's own rows only where this output is the template's picture, drawn
            // on in place (no band above it, no resize); the encoder checks the rest.
            let reference = template.filter(|_| plan.band == 0);
            out.put(kind, encode::encode_jpeg_reusing(&cur, ow, oh, quality, reference)?);
        }
        Ok(out)
    }

    fn render_animated(
        &self,
        mut anim: decode::Animation<'_>,
        spec: &MemeSpec,
        outputs: Outputs,
        largest: u32,
    ) -> Result<Rendered, RenderError> {
        let (bw, bh) = fit_within(anim.width, anim.height, largest, largest);
        let plan = self.plan(spec, bw, bh);
        let (cw, ch) = (bw, bh + plan.band);
        let mut writers: Vec<(Kind, gif::GifWriter)> = outputs
            .wanted()
            .into_iter()
            .map(|(kind, max)| {
                let (w, h) = fit_within(cw, ch, max, max);
                (kind, gif::GifWriter::new(w, h))
            })
            .collect();
        let mut frames = 0;
        while let Some(frame) = anim.next_frame()? {
            let (fw, fh) = frame.rgb.dimensions();
            let base = encode::resize_rgb(frame.rgb.as_raw(), fw, fh, bw, bh)?;
            let (canvas, cw, ch) = self.apply(&plan, base, bw, bh);
            for (_, w) in &mut writers {
                w.push(&canvas, cw, ch, frame.delay_ms)?;
            }
            frames += 1;
        }
        let mut out = Rendered { animated: true, frames, ..Rendered::default() };
        for (kind, w) in writers {
            out.put(kind, w.finish()?);
        }
        Ok(out)
    }

    /// Lays out every box for a `w`×`h` picture.
    fn plan(&self, spec: &MemeSpec, w: u32, h: u32) -> Plan {
        let canvas = PxRect { x0: 0, y0: 0, x1: w as i32, y1: h as i32 };
        match spec.layout {
            Layout::Classic => {
                let long_side = w.max(h) as f32;
                let boxes = spec
                    .boxes
                    .iter()
                    .map(|b| {
                        let text = if b.uppercase { b.text.to_uppercase() } else { b.text.clone() };
                        let cap = self.fonts.metrics(b.font).cap_height;
                        // Capitals at most 1/10 of the long side: a one-word caption should be
                        // big, not a poster.
                        let max_size = (0.1 * long_side / cap) as u32;
                        let req = LayoutRequest {
                            text: &text,
                            font: b.font,
                            align: b.align,
                            valign: b.valign,
                            rect: frac_rect(b, w, h),
                            canvas,
                            max_size,
                            outline: true,
                        };
                        (layout::layout(&self.tools(), &req), b.fill, b.outline)
                    })
                    .collect();
                Plan { band: 0, boxes }
            }
            Layout::Modern => self.plan_modern(spec, w, h),
        }
    }

    /// Modern layout: all captions as paragraphs of one block, black on a white band whose
    /// height follows the text (at most the image's height, past which the text shrinks).
    fn plan_modern(&self, spec: &MemeSpec, w: u32, h: u32) -> Plan {
        let Some(first) = spec.boxes.first() else {
            return Plan { band: 0, boxes: Vec::new() };
        };
        let text = spec
            .boxes
            .iter()
            .map(|b| if b.uppercase { b.text.to_uppercase() } else { b.text.clone() })
            .collect::<Vec<_>>()
            .join("\n");
        let pad = ((w as f32 * 0.04).round() as i32).max(4);
        let cap = self.fonts.metrics(first.font).cap_height;
        // Capitals 4.5% of the width: reads like the tweet-style memes this layout imitates.
        let max_size = ((w as f32 * 0.045 / cap) as u32).max(MIN_SIZE);
        let max_band = h.max(64) as i32;
        let rect = PxRect { x0: pad, y0: pad, x1: w as i32 - pad, y1: pad + max_band };
        let req = LayoutRequest {
            text: &text,
            font: first.font,
            align: first.align,
            valign: VAlign::Top,
            rect,
            canvas: PxRect { x0: 0, y0: 0, x1: w as i32, y1: pad + max_band + pad },
            max_size,
            outline: false,
        };
        let l = layout::layout(&self.tools(), &req);
        let band = l.bounds.map(|b| (b.y1 + pad).max(0) as u32).unwrap_or(0);
        let mut l = l;
        // The band ends below the text: shrink the clip region to it.
        l.region.y1 = l.region.y1.min(band as i32);
        Plan { band, boxes: vec![(l, Rgb::BLACK, Rgb::WHITE)] }
    }

    /// Draws a plan onto a `w`×`h` RGB picture; returns the canvas and its size.
    fn apply(&self, plan: &Plan, pixels: Vec<u8>, w: u32, h: u32) -> (Vec<u8>, u32, u32) {
        let (mut data, ch) = if plan.band > 0 {
            let stride = w as usize * 3;
            let mut d = vec![255u8; stride * plan.band as usize];
            d.extend_from_slice(&pixels);
            (d, h + plan.band)
        } else {
            (pixels, h)
        };
        let mut canvas = Canvas { data: &mut data, width: w, height: ch };
        for (l, fill, outline) in &plan.boxes {
            draw::draw_text(&mut canvas, &self.fonts, &self.glyphs, l, *fill, *outline);
        }
        (data, w, ch)
    }

    fn tools(&self) -> TextTools<'_> {
        TextTools { fonts: &self.fonts, plans: &self.plans, layouts: &self.layouts }
    }

    fn cached_template(&self, id: &str) -> Result<Cached, RenderError> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        if let Some(e) = self.templates.read().unwrap_or_else(|e| e.into_inner()).get(id) {
            e.last_used.store(tick, Ordering::Relaxed);
            self.template_hits.hit();
            return Ok(e.value.clone());
        }
        self.template_hits.miss();
        let t = templates::find(id).ok_or_else(|| RenderError::UnknownTemplate(id.to_string()))?;
        // Builtins are decoded on first use: start-up stays instant.
        let value = self.decode_for_cache(t.bytes)?;
        self.cache_put(id, value.clone());
        Ok(value)
    }

    fn decode_for_cache(&self, bytes: &[u8]) -> Result<Cached, RenderError> {
        match decode::decode(bytes, &self.limits, DISPLAY_MAX)? {
            decode::Decoded::Still(img) => {
                let (w, h) = img.dimensions();
                let (dw, dh) = fit_within(w, h, DISPLAY_MAX, DISPLAY_MAX);
                let img = if (dw, dh) == (w, h) {
                    img
                } else {
                    let px = encode::resize_rgb(img.as_raw(), w, h, dw, dh)?;
                    RgbImage::from_raw(dw, dh, px).ok_or_else(|| RenderError::Internal("resized buffer size".into()))?
                };
                Ok(Cached::Still(Arc::new(StillTemplate::new(img))))
            }
            decode::Decoded::Animated(_) => Ok(Cached::Animated(Arc::from(bytes))),
        }
    }

    fn cache_put(&self, id: &str, value: Cached) {
        let mut map = self.templates.write().unwrap_or_else(|e| e.into_inner());
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        map.insert(id.to_string(), CacheEntry { value, last_used: AtomicU64::new(tick) });
        // Evict least recently used entries past the budget (never the one just added).
        loop {
            let total: usize = map.values().map(|e| e.value.bytes()).sum();
            if total <= TEMPLATE_CACHE_BYTES || map.len() <= 1 {
                break;
            }
            let oldest = map
                .iter()
                .filter(|(k, _)| k.as_str() != id)
                .min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed))
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
    }
}

/// A box's fractional geometry in pixels. Fractions are clamped to the image; the layout then
/// also clamps the rectangle to the canvas.
fn frac_rect(b: &TextBox, w: u32, h: u32) -> PxRect {
    let c = |v: f32| {
        if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 }
    };
    let (x0, y0) = (c(b.x), c(b.y));
    let (x1, y1) = (c(b.x + b.w.max(0.0)), c(b.y + b.h.max(0.0)));
    PxRect {
        x0: (x0 * w as f32).round() as i32,
        y0: (y0 * h as f32).round() as i32,
        x1: (x1 * w as f32).round() as i32,
        y1: (y1 * h as f32).round() as i32,
    }
}

/// Reads the header only: format and upright dimensions, checked against `limits`.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<ProbeInfo, RenderError> {
    decode::probe(bytes, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn engine_is_shareable_across_threads() {
        assert_send_sync::<Engine>();
    }

    #[test]
    fn template_render_produces_jpeg_outputs_of_the_right_sizes() {
        let engine = Engine::new().unwrap();
        let spec = MemeSpec::classic(&["top text", "bottom text"]);
        let out = engine.render(Source::Template("deep-field"), &spec, Outputs::ALL).unwrap();
        let d = out.display.unwrap();
        assert_eq!((d.width, d.height, d.mime), (1000, 872, "image/jpeg"));
        let p = out.preview.unwrap();
        assert_eq!((p.width, p.height), (600, 523));
        let t = out.thumbnail.unwrap();
        assert_eq!((t.width, t.height), (300, 262));
        assert!(!out.animated);
    }

    #[test]
    fn unknown_templates_and_builtin_ids_are_refused() {
        let engine = Engine::new().unwrap();
        let spec = MemeSpec::classic(&["x"]);
        assert!(matches!(
            engine.render(Source::Template("nope"), &spec, Outputs::DISPLAY),
            Err(RenderError::UnknownTemplate(_))
        ));
        let bytes = templates::find("coins").unwrap().bytes;
        assert!(engine.register_template("coins", bytes).is_err());
        engine.register_template("user-1", bytes).unwrap();
        assert!(engine.render(Source::Template("user-1"), &spec, Outputs::THUMBNAIL).is_ok());
        engine.forget_template("user-1");
        assert!(engine.render(Source::Template("user-1"), &spec, Outputs::THUMBNAIL).is_err());
    }

    /// A cached template's render copies the rows of its JPEG that earlier renders found
    /// untouched: what comes out is, byte for byte, what a fresh engine renders.
    #[test]
    fn a_template_render_reusing_kept_rows_is_the_render_from_scratch() {
        let warm = Engine::new().unwrap();
        let first = MemeSpec::classic(&["one does not simply", "cache a template"]);
        let second = MemeSpec::classic(&["", "only the bottom changes"]);
        for spec in [&first, &second, &first] {
            let reused = warm.render(Source::Template("chelsea"), spec, Outputs::DISPLAY).unwrap();
            let fresh = Engine::new().unwrap().render(Source::Template("chelsea"), spec, Outputs::DISPLAY).unwrap();
            assert_eq!(reused.display.unwrap().bytes, fresh.display.unwrap().bytes);
        }
        let Cached::Still(still) = warm.cached_template("chelsea").unwrap() else { panic!("a still") };
        let kept = still.display_rows.bytes();
        assert!(kept > 0, "rows the captions did not touch are kept");
        // The Modern layout's band moves every row: nothing of the template's is used.
        warm.render(Source::Template("chelsea"), &MemeSpec::modern(&["a band"]), Outputs::DISPLAY).unwrap();
        assert_eq!(still.display_rows.bytes(), kept);
    }

    #[test]
    fn modern_layout_adds_a_white_band_above() {
        let engine = Engine::new().unwrap();
        let spec = MemeSpec::modern(&["when the build finally passes"]);
        let out = engine.render(Source::Template("coins"), &spec, Outputs::DISPLAY).unwrap();
        let d = out.display.unwrap();
        assert_eq!(d.width, 384);
        assert!(d.height > 303 + 20, "{}", d.height);
        let img = image::load_from_memory(&d.bytes).unwrap().to_rgb8();
        assert!(img.get_pixel(2, 2).0.iter().all(|&c| c > 240), "band is white");
    }
}
