//! The API's JSON: what it answers (built from the domain types here, so every endpoint shows a
//! meme the same way) and what it accepts. The OpenAPI document is generated from these types.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use time::OffsetDateTime;

use crate::domain::{BlobKey, Comment, Meme, MemeId, MemeSource, User};
use crate::render;
use crate::services::memes_by_url;
use crate::web::App;
use crate::web::views::iso;

/// Every error: a stable code for programs, a sentence for people.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `method_not_allowed`,
    /// `payload_too_large`, `unsupported_media_type`, `invalid`, `rate_limited`, `unavailable`
    /// or `internal`.
    pub code: String,
    pub message: String,
    /// The request's id (also in the `X-Request-Id` header): quote it when reporting a problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A meme's images, as absolute URLs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImageUrls {
    /// At most 1200×1200, JPEG (GIF when animated).
    pub display: String,
    /// At most 300×300.
    pub thumbnail: String,
    /// The picture it was drawn on, unchanged.
    pub original: String,
}

/// A meme.
// It borrows the text the meme already holds, so a page of them is written without copying it.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemeJson<'a> {
    #[schema(value_type = String)]
    pub id: MemeId,
    /// The meme's page.
    pub url: String,
    pub creator: &'a str,
    /// RFC 3339.
    #[schema(value_type = String)]
    pub created_at: Rfc3339,
    /// In box order (top, bottom, …).
    pub captions: &'a [String],
    /// The template it was drawn on, if any.
    pub template: Option<&'a str>,
    /// The meme it remixes, if any.
    #[schema(value_type = Option<String>)]
    pub parent_id: Option<MemeId>,
    pub comment_count: u32,
    pub remix_count: u32,
    pub content_type: &'a str,
    pub width: u32,
    pub height: u32,
    pub images: ImageUrls,
    /// For a meme on a template: the `/i/` URL that draws the same captions.
    pub share_url: Option<String>,
    /// The newest comments (at most 2), newest first: in lists only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_comments: Option<Vec<CommentJson>>,
}

impl<'a> MemeJson<'a> {
    pub fn new(links: &Links<'_>, meme: &'a Meme) -> Self {
        let original = match &meme.source {
            // A shared template's image redirects to its stored original.
            MemeSource::Template(template) => links.site(&["/templates/", template, "/image"]),
            MemeSource::Upload { original_key } => links.media(original_key),
        };
        Self {
            url: links.site(&["/memes/", &meme.id.to_string()]),
            id: meme.id,
            creator: meme.creator.as_str(),
            created_at: Rfc3339(meme.created_at),
            captions: &meme.captions,
            template: meme.template_id(),
            parent_id: meme.parent_id,
            comment_count: meme.comment_count,
            remix_count: meme.remix_count,
            content_type: &meme.media.content_type,
            width: meme.media.width,
            height: meme.media.height,
            images: ImageUrls {
                display: links.media(&meme.media.display_key),
                thumbnail: links.media(&meme.media.thumb_key),
                original,
            },
            share_url: meme.template_id().map(|template| links.share(template, &meme.captions)),
            latest_comments: None,
        }
    }
}

/// A time written as RFC 3339 straight into the response (no string made first).
#[derive(Debug, Clone, Copy)]
pub struct Rfc3339(pub OffsetDateTime);

impl Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let mut text = [0u8; 48];
        let mut cursor = std::io::Cursor::new(&mut text[..]);
        self.0.format_into(&mut cursor, &time::format_description::well_known::Rfc3339).map_err(S::Error::custom)?;
        let written = usize::try_from(cursor.position()).map_err(S::Error::custom)?;
        serializer.serialize_str(std::str::from_utf8(&text[..written]).map_err(S::Error::custom)?)
    }
}

/// Absolute URLs for one response: the public base URL is worked out once, not per link (a
/// page of 20 memes has 100 of them).
pub struct Links<'a> {
    app: &'a App,
    base: String,
}

impl<'a> Links<'a> {
    pub fn new(app: &'a App) -> Self {
        Self { app, base: app.config.base_url() }
    }

    /// A URL the site made as a path becomes absolute (media on a CDN already is).
    pub fn absolute(&self, url: String) -> String {
        if url.starts_with('/') { self.site(&[&url]) } else { url }
    }

    /// A stored media object's absolute URL: on the CDN, or under our `/media/`.
    pub fn media(&self, key: &BlobKey) -> String {
        let key = key.as_ref();
        self.app.cdn_media_url(key).unwrap_or_else(|| self.site(&[crate::web::LOCAL_MEDIA_PATH, key]))
    }

    /// The `/i/` URL that draws these captions on this template.
    pub fn share(&self, template: &str, captions: &[String]) -> String {
        let mut url = self.base.clone();
        memes_by_url::push_url_of(&mut url, template, captions);
        url
    }

    /// The absolute URL of the site's path made of `parts`, written once.
    pub fn site(&self, parts: &[&str]) -> String {
        let mut url = String::with_capacity(self.base.len() + parts.iter().map(|p| p.len()).sum::<usize>());
        url.push_str(&self.base);
        parts.iter().for_each(|part| url.push_str(part));
        url
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommentJson {
    pub id: String,
    pub meme_id: String,
    pub author: String,
    pub body: String,
    /// RFC 3339.
    pub created_at: String,
}

impl From<&Comment> for CommentJson {
    fn from(c: &Comment) -> Self {
        Self {
            id: c.id.to_string(),
            meme_id: c.meme_id.to_string(),
            author: c.author.to_string(),
            body: c.body.as_str().to_owned(),
            created_at: iso(c.created_at),
        }
    }
}

/// A page of memes.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemeList<'a> {
    pub memes: Vec<MemeJson<'a>>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// A meme with its first comments (oldest first).
#[derive(Debug, Serialize, ToSchema)]
pub struct MemeWithCommentsJson<'a> {
    pub meme: MemeJson<'a>,
    pub comments: Vec<CommentJson>,
    /// Where the comments continue, if they do (the meme's page shows them all).
    pub more_comments: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserJson {
    pub username: String,
    /// RFC 3339.
    pub member_since: String,
    pub subscriber_count: u64,
    /// The portfolio page.
    pub url: String,
}

impl UserJson {
    pub fn new(links: &Links<'_>, user: &User, subscriber_count: u64) -> Self {
        Self {
            username: user.username.to_string(),
            member_since: iso(user.created_at),
            subscriber_count,
            url: links.absolute(format!("/u/{}", user.username)),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionJson {
    /// The creator subscribed to.
    pub creator: String,
    pub subscribed: bool,
}

/// A text box's place, as fractions of the picture.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BoxJson {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TemplateJson {
    /// What `template` takes when making a meme, and the first part of an `/i/` URL.
    pub id: String,
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// The default text boxes, in order.
    pub boxes: Vec<BoxJson>,
    pub image_url: String,
    /// An `/i/` URL drawing example captions on it.
    pub example_url: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TemplateList {
    pub templates: Vec<TemplateJson>,
}

/// A font for a text box.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum FontJson {
    Anton,
    Oswald,
    ComicNeue,
    NotoSans,
    ArchivoBlack,
}

impl From<FontJson> for render::FontChoice {
    fn from(font: FontJson) -> Self {
        match font {
            FontJson::Anton => Self::Anton,
            FontJson::Oswald => Self::Oswald,
            FontJson::ComicNeue => Self::ComicNeue,
            FontJson::NotoSans => Self::NotoSans,
            FontJson::ArchivoBlack => Self::ArchivoBlack,
        }
    }
}

/// One text box of a new meme.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBox {
    /// Up to 500 characters; `\n` breaks a line.
    #[schema(max_length = 500)]
    pub text: String,
    /// The box's place as fractions of the picture; what is left out is the template's, and a
    /// box running past an edge ends at it.
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub x: Option<f32>,
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub y: Option<f32>,
    #[schema(minimum = 0.01, maximum = 1.0)]
    pub w: Option<f32>,
    #[schema(minimum = 0.01, maximum = 1.0)]
    pub h: Option<f32>,
    pub font: Option<FontJson>,
    /// Text colour, `#rrggbb`.
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub fill: Option<String>,
    /// Outline colour, `#rrggbb`.
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub outline: Option<String>,
}

/// The layout of a new meme.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LayoutJson {
    /// Text over the picture.
    Classic,
    /// Text on a white band above it.
    Modern,
}

/// A meme to make on a template, or by remixing a meme (to draw on an image of your own, post
/// `multipart/form-data` instead).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum NewMeme {
    OnTemplate(OnTemplate),
    Remix(RemixOf),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnTemplate {
    /// A template id (see `GET /api/v1/templates`).
    pub template: String,
    /// The text boxes in order; none gives the template's two empty boxes.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub boxes: Vec<NewBox>,
    pub layout: Option<LayoutJson>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemixOf {
    /// The id of the meme to remix: its picture and box layout, with these boxes' text.
    pub remix: String,
    /// The text boxes in order; none keeps the two default boxes.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub boxes: Vec<NewBox>,
    pub layout: Option<LayoutJson>,
}

/// A meme drawn on an uploaded image: the editor form's fields. The text fields go once per
/// box, in order: repeat `caption` (and `font`, `fill`, `outline` if you style the boxes) for each
/// box. (They are documented as single strings because that is what one multipart part is.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct NewMemeUpload {
    /// PNG, JPEG, GIF (animated too), WebP or BMP.
    #[schema(value_type = String, format = Binary)]
    pub image: Vec<u8>,
    /// A box's text (none: two empty boxes); once per box, up to 20.
    #[schema(max_length = 500)]
    pub caption: Option<String>,
    /// A box's font; once per box.
    #[schema(schema_with = font_field)]
    pub font: Option<String>,
    /// A box's text colour, `#rrggbb`; once per box.
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub fill: Option<String>,
    /// A box's outline colour, `#rrggbb`; once per box.
    #[schema(pattern = "^#[0-9a-fA-F]{6}$")]
    pub outline: Option<String>,
}

fn font_field() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(render::FontChoice::ALL.map(|f| f.id())))
        .build()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// 1 to 2,000 characters, at least one of them visible (not a space or a control
    /// character, which are trimmed or removed).
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = r"[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202a-\u202f\u205f\u2066-\u2069\u3000\ufffe\uffff]"
    )]
    pub body: String,
}
