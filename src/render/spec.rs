//! The meme description: what to write where. Stored as JSON by the web app, so every type here
//! is serde-friendly and every field but `text` has a default.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Most boxes one meme may have; bounds layout work per request.
pub const MAX_BOXES: usize = 20;
/// Most characters in one box; a caption longer than a tweet is not a caption.
pub const MAX_TEXT_CHARS: usize = 500;

/// How captions are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Text boxes drawn over the image (white text, black outline).
    #[default]
    Classic,
    /// A white band added above the image with the captions in it (black text); box geometry
    /// is ignored, boxes become paragraphs.
    Modern,
}

impl FromStr for Layout {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "classic" => Ok(Layout::Classic),
            "modern" => Ok(Layout::Modern),
            _ => Err(SpecError::UnknownLayout(s.to_string())),
        }
    }
}

/// Horizontal alignment of lines in a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    Left,
    #[default]
    Center,
    Right,
}

/// Vertical placement of the text block in its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VAlign {
    Top,
    #[default]
    Middle,
    Bottom,
}

/// The fonts a caption can use (the editor's dropdown is [`FontChoice::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FontChoice {
    /// Heavy condensed, the closest free font to Impact: the classic meme look.
    #[default]
    Anton,
    Oswald,
    ComicNeue,
    NotoSans,
    ArchivoBlack,
}

impl FontChoice {
    /// Every font, in dropdown order.
    pub const ALL: [FontChoice; 5] =
        [FontChoice::Anton, FontChoice::Oswald, FontChoice::ComicNeue, FontChoice::NotoSans, FontChoice::ArchivoBlack];

    /// The id used in JSON, URLs and the CLI (`"comic-neue"`).
    pub fn id(self) -> &'static str {
        match self {
            FontChoice::Anton => "anton",
            FontChoice::Oswald => "oswald",
            FontChoice::ComicNeue => "comic-neue",
            FontChoice::NotoSans => "noto-sans",
            FontChoice::ArchivoBlack => "archivo-black",
        }
    }

    /// The name shown to users (`"Comic Neue"`).
    pub fn display_name(self) -> &'static str {
        match self {
            FontChoice::Anton => "Anton",
            FontChoice::Oswald => "Oswald",
            FontChoice::ComicNeue => "Comic Neue",
            FontChoice::NotoSans => "Noto Sans",
            FontChoice::ArchivoBlack => "Archivo Black",
        }
    }
}

impl fmt::Display for FontChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for FontChoice {
    type Err = SpecError;
    /// Accepts the id or the display name, case- and separator-insensitively ("Comic Neue",
    /// "comic_neue", "comicneue").
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let key: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
        FontChoice::ALL
            .into_iter()
            .find(|f| f.id().replace('-', "") == key)
            .ok_or_else(|| SpecError::UnknownFont(s.to_string()))
    }
}

/// An opaque colour, written `#rrggbb` in JSON and forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rgb(pub [u8; 3]);

impl Rgb {
    pub const WHITE: Rgb = Rgb([255, 255, 255]);
    pub const BLACK: Rgb = Rgb([0, 0, 0]);
}

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [r, g, b] = self.0;
        write!(f, "#{r:02x}{g:02x}{b:02x}")
    }
}

impl FromStr for Rgb {
    type Err = SpecError;
    /// Parses `#rrggbb` (the `#` is optional; `#rgb` shorthand is accepted too).
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let bad = || SpecError::BadColour(s.to_string());
        let hex = s.trim();
        let hex = hex.strip_prefix('#').unwrap_or(hex);
        if !hex.is_ascii() {
            return Err(bad());
        }
        let digit = |i: usize, n: usize| u8::from_str_radix(&hex[i..i + n], 16).map_err(|_| bad());
        match hex.len() {
            6 => Ok(Rgb([digit(0, 2)?, digit(2, 2)?, digit(4, 2)?])),
            3 => Ok(Rgb([digit(0, 1)? * 17, digit(1, 1)? * 17, digit(2, 1)? * 17])),
            _ => Err(bad()),
        }
    }
}

impl Serialize for Rgb {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rgb {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Errors from parsing user-supplied spec parts (fonts, colours, layouts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("unknown font {0:?}: choose anton, oswald, comic-neue, noto-sans or archivo-black")]
    UnknownFont(String),
    #[error("invalid colour {0:?}: use #rrggbb")]
    BadColour(String),
    #[error("unknown layout {0:?}: use classic or modern")]
    UnknownLayout(String),
}

/// One caption and where it goes. Geometry is in fractions of the image (0..1), so a spec
/// renders the same at every output size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TextBox {
    pub text: String,
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub align: Align,
    pub valign: VAlign,
    pub font: FontChoice,
    pub fill: Rgb,
    pub outline: Rgb,
    /// Upper-case the text before drawing (the classic meme look); on by default.
    pub uppercase: bool,
}

impl Default for TextBox {
    fn default() -> Self {
        TextBox {
            text: String::new(),
            x: 0.02,
            y: 0.02,
            w: 0.96,
            h: 0.25,
            align: Align::Center,
            valign: VAlign::Middle,
            font: FontChoice::Anton,
            fill: Rgb::WHITE,
            outline: Rgb::BLACK,
            uppercase: true,
        }
    }
}

impl TextBox {
    /// A classic white-on-black box at the given fractional rectangle.
    pub fn at(text: impl Into<String>, x: f32, y: f32, w: f32, h: f32) -> Self {
        TextBox { text: text.into(), x, y, w, h, ..TextBox::default() }
    }
}

/// A whole meme: the layout and its text boxes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MemeSpec {
    pub layout: Layout,
    pub boxes: Vec<TextBox>,
}

impl MemeSpec {
    /// The default classic layout: one caption goes on top; two go top and bottom; more are
    /// spread evenly down the image (top one hugs the top, last one the bottom).
    pub fn classic<S: AsRef<str>>(captions: &[S]) -> Self {
        let n = captions.len();
        let boxes = match n {
            0 => Vec::new(),
            1 => vec![top_box(captions[0].as_ref())],
            2 => vec![top_box(captions[0].as_ref()), bottom_box(captions[1].as_ref())],
            _ => {
                // n bands of equal height, each a little shorter than its slot.
                let slot = 0.96 / n as f32;
                captions
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let mut b = TextBox::at(c.as_ref(), 0.02, 0.02 + slot * i as f32, 0.96, slot);
                        b.valign = match i {
                            0 => VAlign::Top,
                            i if i + 1 == n => VAlign::Bottom,
                            _ => VAlign::Middle,
                        };
                        b
                    })
                    .collect()
            }
        };
        MemeSpec { layout: Layout::Classic, boxes }
    }

    /// The "modern" layout: captions in a white band above the image, black sentence-case text.
    pub fn modern<S: AsRef<str>>(captions: &[S]) -> Self {
        let boxes = captions
            .iter()
            .map(|c| TextBox {
                text: c.as_ref().to_string(),
                align: Align::Left,
                font: FontChoice::NotoSans,
                fill: Rgb::BLACK,
                outline: Rgb::WHITE,
                uppercase: false,
                ..TextBox::default()
            })
            .collect();
        MemeSpec { layout: Layout::Modern, boxes }
    }

    /// Sets every box's font.
    pub fn with_font(mut self, font: FontChoice) -> Self {
        for b in &mut self.boxes {
            b.font = font;
        }
        self
    }

    /// Refuses specs the engine will not lay out: too many boxes, text too long, non-finite or
    /// negative geometry. Geometry past the image edges is clamped when drawing, not refused.
    pub fn validate(&self) -> Result<(), String> {
        if self.boxes.len() > MAX_BOXES {
            return Err(format!("at most {MAX_BOXES} text boxes"));
        }
        for (i, b) in self.boxes.iter().enumerate() {
            if b.text.chars().count() > MAX_TEXT_CHARS {
                return Err(format!("text box {} is longer than {MAX_TEXT_CHARS} characters", i + 1));
            }
            if ![b.x, b.y, b.w, b.h].iter().all(|v| v.is_finite()) {
                return Err(format!("text box {} has a non-numeric position or size", i + 1));
            }
        }
        Ok(())
    }

    /// The spec `fuzz/fuzz_targets/captions.rs` makes of its input, kept here so that the
    /// inputs it finds replay the same way in `tests/render_fuzz_regressions.rs`: the first
    /// byte picks the font, alignment, case and layout; the rest, read as UTF-8 (invalid bytes
    /// become U+FFFD), is the text of up to four boxes, split at NUL bytes. None for no input.
    #[doc(hidden)]
    pub fn from_fuzz_captions(data: &[u8]) -> Option<MemeSpec> {
        let (&selector, rest) = data.split_first()?;
        let text = String::from_utf8_lossy(rest);
        let font = FontChoice::ALL[usize::from(selector) % FontChoice::ALL.len()];
        let align = [Align::Left, Align::Center, Align::Right][usize::from(selector >> 3) % 3];
        let boxes = text
            .split('\0')
            .take(4)
            .enumerate()
            .map(|(i, t)| TextBox {
                font,
                align,
                valign: [VAlign::Top, VAlign::Middle, VAlign::Bottom][i % 3],
                uppercase: selector & 0x40 != 0,
                ..TextBox::at(t, 0.05, 0.05 + 0.22 * i as f32, 0.9, 0.25)
            })
            .collect();
        let layout = if selector & 0x80 != 0 { Layout::Modern } else { Layout::Classic };
        Some(MemeSpec { layout, boxes })
    }
}

fn top_box(text: &str) -> TextBox {
    TextBox { valign: VAlign::Top, ..TextBox::at(text, 0.02, 0.02, 0.96, 0.25) }
}

fn bottom_box(text: &str) -> TextBox {
    TextBox { valign: VAlign::Bottom, ..TextBox::at(text, 0.02, 0.73, 0.96, 0.25) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_names_parse_in_any_spelling() {
        assert_eq!("Comic Neue".parse::<FontChoice>(), Ok(FontChoice::ComicNeue));
        assert_eq!("noto_sans".parse::<FontChoice>(), Ok(FontChoice::NotoSans));
        assert_eq!("ANTON".parse::<FontChoice>(), Ok(FontChoice::Anton));
        assert!(matches!("impact".parse::<FontChoice>(), Err(SpecError::UnknownFont(_))));
        for f in FontChoice::ALL {
            assert_eq!(f.id().parse::<FontChoice>(), Ok(f));
            assert_eq!(f.display_name().parse::<FontChoice>(), Ok(f));
        }
    }

    #[test]
    fn colours_parse_and_print_as_hex() {
        assert_eq!("#ff8000".parse::<Rgb>(), Ok(Rgb([255, 128, 0])));
        assert_eq!("0a0B0c".parse::<Rgb>(), Ok(Rgb([10, 11, 12])));
        assert_eq!("#fff".parse::<Rgb>(), Ok(Rgb::WHITE));
        assert_eq!(Rgb([255, 128, 0]).to_string(), "#ff8000");
        for bad in ["", "#", "#12345", "#gggggg", "#ééé", "#1234567"] {
            assert!(bad.parse::<Rgb>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn specs_round_trip_through_json_and_fill_defaults() {
        let spec = MemeSpec::classic(&["top", "bottom"]);
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<MemeSpec>(&json).unwrap(), spec);
        let minimal: MemeSpec =
            serde_json::from_str(r##"{"boxes":[{"text":"hi","fill":"#00ff00","font":"comic-neue"}]}"##).unwrap();
        assert_eq!(minimal.layout, Layout::Classic);
        assert_eq!(minimal.boxes[0].fill, Rgb([0, 255, 0]));
        assert_eq!(minimal.boxes[0].font, FontChoice::ComicNeue);
        assert!(minimal.boxes[0].uppercase);
    }

    #[test]
    fn classic_spreads_many_captions_down_the_image() {
        let spec = MemeSpec::classic(&["a", "b", "c", "d"]);
        assert_eq!(spec.boxes.len(), 4);
        for pair in spec.boxes.windows(2) {
            assert!(pair[0].y + pair[0].h <= pair[1].y + 1e-4);
        }
        let last = spec.boxes.last().unwrap();
        assert!(last.y + last.h <= 1.0 + 1e-4);
    }

    #[test]
    fn validate_refuses_nan_and_floods() {
        let mut spec = MemeSpec::classic(&["a"]);
        spec.boxes[0].w = f32::NAN;
        assert!(spec.validate().is_err());
        let spec = MemeSpec::classic(&vec!["x"; MAX_BOXES + 1]);
        assert!(spec.validate().is_err());
        let spec = MemeSpec::classic(&["y".repeat(MAX_TEXT_CHARS + 1)]);
        assert!(spec.validate().is_err());
    }
}
