//! What a caller asks the meme use cases for, as typed values. Each door parses its own input
//! into these once (the editor's multipart form in `web::meme_form`, the API's JSON or
//! multipart body in `web::api::memes`, a memes-by-URL path in `services::memes_by_url`), and
//! the use cases in `services::memes` never see a form or a header.

use crate::domain::{MemeId, UserId, Username};
use crate::render::{FontChoice, Format, Layout, MAX_BOXES, MAX_TEXT_CHARS, MemeSpec, Rgb, TextBox};

use super::ServiceError;
use super::uploads::Upload;

/// Who is acting: a signed-in user whose address is confirmed, from a session or an API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub username: Username,
}

/// What to draw on.
#[derive(Debug, Clone)]
pub enum PictureChoice {
    /// A starter template or a shared one, by id.
    Template(String),
    /// An uploaded image whose type was sniffed from its first bytes.
    Upload(ProbedUpload),
    /// The picture (and box layout) of a saved meme.
    Remix(MemeId),
}

/// An upload whose format is known from its magic bytes: read once when the request is parsed,
/// so a file that is no image is refused before it queues for a render slot, and saving its
/// original needs no second look. Its dimensions are checked by the render's bounded decoding,
/// which holds a render slot (reading a spooled 100 MB file early would defeat the spooling).
#[derive(Debug, Clone)]
pub struct ProbedUpload {
    pub upload: Upload,
    pub format: Format,
}

impl ProbedUpload {
    /// Enough bytes for every supported format's signature (WebP's is the longest, 12).
    const SIGNATURE_BYTES: usize = 32;

    pub async fn sniff(upload: Upload) -> Result<Self, ServiceError> {
        let head = upload.head(Self::SIGNATURE_BYTES).await?;
        let format = Format::detect(&head).map_err(|_| {
            ServiceError::BadInput("That file is not an image we can read: use PNG, JPEG, GIF, WebP or BMP.".into())
        })?;
        Ok(Self { upload, format })
    }
}

/// One text box: its text, and whatever of its style and place the caller chose (the rest
/// comes from the template or the layout).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoxRequest {
    pub text: String,
    pub font: Option<FontChoice>,
    pub fill: Option<Rgb>,
    pub outline: Option<Rgb>,
    pub placement: Option<Placement>,
}

/// A box's position and size as fractions of the picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Placement {
    /// Checks the numbers: inside the picture and not degenerate.
    pub fn new(x: f32, y: f32, w: f32, h: f32) -> Result<Self, String> {
        let fraction = |v: f32| v.is_finite() && (0.0..=1.0).contains(&v);
        if ![x, y, w, h].into_iter().all(fraction) || w < 0.01 || h < 0.01 || x + w > 1.0001 || y + h > 1.0001 {
            return Err("a box's x, y, w and h are fractions of the picture (0 to 1), inside it".into());
        }
        Ok(Self { x, y, w, h })
    }
}

/// What to do with the drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// The editor's live preview: small, quick, stored nowhere.
    Preview,
    /// The display-size image, stored nowhere.
    Download,
    /// Keep it in the creator's portfolio; with `share_as_template`, an uploaded picture also
    /// becomes a public template under that name.
    Save { share_as_template: Option<String> },
}

/// A meme to make, fully parsed.
#[derive(Debug, Clone)]
pub struct MemeRequest {
    pub picture: PictureChoice,
    /// In order (top, bottom, …). Empty means the default: two empty boxes (or a remix's own).
    pub boxes: Vec<BoxRequest>,
    pub layout: Option<Layout>,
    pub intent: Intent,
}

impl MemeRequest {
    /// The captions in box order (two empty ones when none were given).
    pub fn captions(&self) -> Vec<String> {
        if self.boxes.is_empty() {
            vec![String::new(), String::new()]
        } else {
            self.boxes.iter().map(|b| b.text.clone()).collect()
        }
    }

    /// Checks what every door must check the same way: the number of boxes and their length.
    pub fn validate(&self) -> Result<(), ServiceError> {
        if self.boxes.len() > MAX_BOXES {
            return Err(ServiceError::BadInput(format!("A meme can have at most {MAX_BOXES} text boxes.")));
        }
        for (i, b) in self.boxes.iter().enumerate() {
            if b.text.chars().count() > MAX_TEXT_CHARS {
                return Err(ServiceError::BadInput(format!(
                    "Caption {} is longer than {MAX_TEXT_CHARS} characters.",
                    i + 1
                )));
            }
        }
        Ok(())
    }

    /// The description to draw: geometry from `base` (a template's slots, a remix's boxes, or
    /// the layout), then each box's own choices over it.
    pub(super) fn spec(&self, base: MemeSpec) -> MemeSpec {
        let mut spec = base;
        if self.layout == Some(Layout::Modern) && spec.layout != Layout::Modern {
            spec = MemeSpec::modern(&self.captions());
        }
        for (b, asked) in spec.boxes.iter_mut().zip(&self.boxes) {
            apply(b, asked);
        }
        spec
    }
}

fn apply(b: &mut TextBox, asked: &BoxRequest) {
    b.text.clone_from(&asked.text);
    if let Some(font) = asked.font {
        b.font = font;
    }
    if let Some(fill) = asked.fill {
        b.fill = fill;
    }
    if let Some(outline) = asked.outline {
        b.outline = outline;
    }
    if let Some(p) = asked.placement {
        (b.x, b.y, b.w, b.h) = (p.x, p.y, p.w, p.h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placements_outside_the_picture_are_refused() {
        assert!(Placement::new(0.1, 0.1, 0.5, 0.5).is_ok());
        for (x, y, w, h) in
            [(-0.1, 0.0, 0.5, 0.5), (0.6, 0.0, 0.5, 0.5), (0.0, 0.0, 0.0, 0.5), (f32::NAN, 0.0, 0.5, 0.5)]
        {
            assert!(Placement::new(x, y, w, h).is_err(), "{x} {y} {w} {h}");
        }
    }

    #[test]
    fn a_boxs_own_choices_override_the_base_and_the_rest_is_kept() {
        let request = MemeRequest {
            picture: PictureChoice::Template("chelsea".into()),
            boxes: vec![
                BoxRequest { text: "top".into(), fill: Some(Rgb([255, 0, 0])), ..Default::default() },
                BoxRequest {
                    text: "bottom".into(),
                    placement: Some(Placement::new(0.1, 0.5, 0.8, 0.2).unwrap()),
                    ..Default::default()
                },
            ],
            layout: None,
            intent: Intent::Preview,
        };
        let base = MemeSpec::classic(&["", ""]);
        let spec = request.spec(base.clone());
        assert_eq!((spec.boxes[0].text.as_str(), spec.boxes[0].fill), ("top", Rgb([255, 0, 0])));
        assert_eq!(spec.boxes[0].y, base.boxes[0].y);
        assert_eq!((spec.boxes[1].x, spec.boxes[1].y, spec.boxes[1].w), (0.1, 0.5, 0.8));
        assert_eq!(spec.boxes[1].outline, base.boxes[1].outline);
    }
}
