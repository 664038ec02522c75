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
    /// A draft upload the editor made before, by id: drawn as that upload would be.
    Draft(super::drafts::DraftRef),
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

/// A colour as the editor's colour fields and the API send it: exactly `#rrggbb`.
pub fn colour(text: &str) -> Option<Rgb> {
    let hex = text.strip_prefix('#').filter(|h| h.len() == 6 && h.chars().all(|c| c.is_ascii_hexdigit()))?;
    hex.parse().ok()
}

/// A box's position and size as fractions of the picture; what is left out stays as the
/// template (or layout) has it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Placement {
    pub x: Option<f32>,
    pub y: Option<f32>,
    pub w: Option<f32>,
    pub h: Option<f32>,
}

/// A box is at least this wide and tall (a hundredth of the picture).
pub const MIN_BOX: f32 = 0.01;

impl Placement {
    /// Checks each number: a fraction of the picture (a size at least [`MIN_BOX`]).
    pub fn new(x: Option<f32>, y: Option<f32>, w: Option<f32>, h: Option<f32>) -> Result<Self, String> {
        let fraction = |v: Option<f32>, min: f32| v.is_none_or(|v| v.is_finite() && (min..=1.0).contains(&v));
        if !(fraction(x, 0.0) && fraction(y, 0.0) && fraction(w, MIN_BOX) && fraction(h, MIN_BOX)) {
            return Err(format!("x and y are fractions of the picture from 0 to 1, w and h from {MIN_BOX} to 1"));
        }
        Ok(Self { x, y, w, h })
    }

    /// Places `b`: the given numbers over its own, then cut at the picture's edges (a box that
    /// runs past the right or the bottom ends there).
    fn apply(&self, b: &mut TextBox) {
        b.x = self.x.unwrap_or(b.x).clamp(0.0, 1.0 - MIN_BOX);
        b.y = self.y.unwrap_or(b.y).clamp(0.0, 1.0 - MIN_BOX);
        // `max` and `min` rather than `clamp`: with x at its largest, 1 - x can round below
        // MIN_BOX, and a clamp with its bounds crossed panics.
        b.w = self.w.unwrap_or(b.w).min(1.0 - b.x).max(MIN_BOX);
        b.h = self.h.unwrap_or(b.h).min(1.0 - b.y).max(MIN_BOX);
    }
}

/// A box's place as the editor shows it: every number known (a [`Placement`] may leave some
/// to the template).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxGeometry {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl From<&TextBox> for BoxGeometry {
    fn from(b: &TextBox) -> Self {
        Self { x: b.x, y: b.y, w: b.w, h: b.h }
    }
}

/// Where the editor puts a box added beyond the picture's own: a band across the middle of the
/// picture, at the first of these heights no other box starts at. Adding a box never moves the
/// others (they keep their numbers), and it does not land exactly on one of them either.
pub const ADDED_BOX: AddedBox = AddedBox { x: 0.1, w: 0.8, h: 0.16, tops: [0.42, 0.3, 0.54, 0.18, 0.66] };

/// The rule for [`ADDED_BOX`] (the editor's script gets the same numbers from the page).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddedBox {
    pub x: f32,
    pub w: f32,
    pub h: f32,
    pub tops: [f32; 5],
}

impl AddedBox {
    /// The place of a box added to `existing`.
    pub fn after(&self, existing: &[BoxGeometry]) -> BoxGeometry {
        let taken = |top: f32| existing.iter().any(|b| (b.y - top).abs() < 0.04);
        let y = self.tops.iter().copied().find(|&top| !taken(top)).unwrap_or(self.tops[0]);
        BoxGeometry { x: self.x, y, w: self.w, h: self.h }
    }
}

/// The places of `count` boxes on a picture whose own boxes are `own` (a template's slots, a
/// remixed meme's boxes, or the classic top and bottom): those first, added ones after them.
pub fn editor_geometry(own: &[BoxGeometry], count: usize) -> Vec<BoxGeometry> {
    let mut boxes: Vec<BoxGeometry> = own.iter().take(count).copied().collect();
    while boxes.len() < count {
        let next = ADDED_BOX.after(&boxes);
        boxes.push(next);
    }
    boxes
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
        p.apply(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_added_box_moves_no_other_and_lands_on_none() {
        let own =
            [BoxGeometry { x: 0.02, y: 0.02, w: 0.96, h: 0.22 }, BoxGeometry { x: 0.02, y: 0.76, w: 0.96, h: 0.22 }];
        let three = editor_geometry(&own, 3);
        assert_eq!(&three[..2], &own, "the template's boxes stay where they are");
        assert_eq!(three[2].y, ADDED_BOX.tops[0]);
        let seven = editor_geometry(&own, 7);
        assert_eq!(&seven[..3], &three[..], "adding more moves none of the earlier ones");
        let tops: Vec<f32> = seven[2..].iter().map(|b| b.y).collect();
        assert_eq!(tops, ADDED_BOX.tops.to_vec(), "each added box starts at a height of its own");
        assert_eq!(editor_geometry(&own, 1), own[..1].to_vec());
    }

    #[test]
    fn numbers_that_are_no_fraction_of_the_picture_are_refused() {
        assert!(Placement::new(Some(0.1), Some(0.1), Some(0.5), Some(0.5)).is_ok());
        for (x, y, w, h) in
            [(-0.1, 0.0, 0.5, 0.5), (1.1, 0.0, 0.5, 0.5), (0.0, 0.0, 0.0, 0.5), (f32::NAN, 0.0, 0.5, 0.5)]
        {
            assert!(Placement::new(Some(x), Some(y), Some(w), Some(h)).is_err(), "{x} {y} {w} {h}");
        }
    }

    #[test]
    fn a_box_past_the_edge_ends_at_it_and_what_is_left_out_stays() {
        let mut b = TextBox::at("x", 0.02, 0.73, 0.96, 0.25);
        Placement::new(Some(0.8), None, Some(0.5), None).unwrap().apply(&mut b);
        assert_eq!((b.x, b.y, b.h), (0.8, 0.73, 0.25));
        assert!((b.w - 0.2).abs() < 1e-6, "cut at the right edge: {}", b.w);
        Placement::new(Some(1.0), Some(1.0), None, None).unwrap().apply(&mut b);
        assert!(b.x + b.w <= 1.0 + 1e-5 && b.w >= MIN_BOX && b.y + b.h <= 1.0 + 1e-5, "{b:?}");
    }

    #[test]
    fn a_boxs_own_choices_override_the_base_and_the_rest_is_kept() {
        let request = MemeRequest {
            picture: PictureChoice::Template("chelsea".into()),
            boxes: vec![
                BoxRequest { text: "top".into(), fill: Some(Rgb([255, 0, 0])), ..Default::default() },
                BoxRequest {
                    text: "bottom".into(),
                    placement: Some(Placement::new(Some(0.1), Some(0.5), Some(0.8), Some(0.2)).unwrap()),
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
