//! The editor's multipart form (`/memes`, `/memes/preview`): field names from SPEC §3.
//!
//! `template` (id) or `image` (file) or `draft` (the id of a draft upload this browser made:
//! `POST /memes/drafts`) or `remix` (meme id); `caption` repeated, one per box in
//! order; optional per-box `font`, `fill`, `outline` (repeated in the same order); `layout`
//! (`classic`/`modern`); `save` = `1` to keep it; `csrf_token`. Beyond SPEC §3, the editor
//! sends each box's place: `x`, `y`, `w`, `h` (repeated in box order), in percent of the
//! picture (the left and top edges, the width and height); a box without them stays where the
//! template (or layout) puts it.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;

use super::csrf::CsrfSecret;
use super::error::AppError;
use crate::config::Config;
use crate::domain::{Caption, DraftId, MemeId};
use crate::render::{FontChoice, Layout, MAX_BOXES};
use crate::services::drafts::DraftRef;
use crate::services::requests::{BoxRequest, Intent, MemeRequest, PictureChoice, Placement, ProbedUpload, colour};
use crate::services::uploads::{UploadWriter, WriteError};

#[derive(Debug, Default)]
pub struct MemeForm {
    pub template: Option<String>,
    /// Sniffed once, after the CSRF check.
    pub image: Option<ProbedUpload>,
    /// A draft upload of this browser's (checked after the CSRF token, which it is bound to).
    pub draft: Option<DraftRef>,
    pub remix: Option<String>,
    pub captions: Vec<String>,
    pub fonts: Vec<String>,
    pub fills: Vec<String>,
    pub outlines: Vec<String>,
    /// Each box's left edge, top edge, width and height, in percent (as typed).
    pub geometry: [Vec<String>; 4],
    pub layout: Option<String>,
    pub save: bool,
    /// Also share an uploaded image as a public template, under this name.
    pub share_template: bool,
    pub template_name: Option<String>,
    /// The no-JavaScript editor's own buttons ("add-box"), posted back to `/memes/new`.
    pub edit: Option<String>,
}

/// The API's form says every style it sends: a font's id, a `#rrggbb` colour (the page's form
/// may leave a box's blank, for "as the template has it").
fn check_api_style(name: &str, form: &MemeForm) -> Result<(), AppError> {
    let value = match name {
        "font" => form.fonts.last(),
        "fill" => form.fills.last(),
        "outline" => form.outlines.last(),
        _ => return Ok(()),
    };
    let Some(value) = value else { return Ok(()) };
    let good = match name {
        "font" => FontChoice::ALL.iter().any(|f| f.id() == value),
        _ => colour(value).is_some(),
    };
    if good {
        Ok(())
    } else if name == "font" {
        let ids: Vec<&str> = FontChoice::ALL.iter().map(|f| f.id()).collect();
        Err(AppError::Unprocessable(format!("{value:?} is not a font: use one of {}.", ids.join(", "))))
    } else {
        Err(AppError::Unprocessable(format!("{name}: {value:?} is not a colour like #ffffff.")))
    }
}

/// The fields of the API's multipart form (`web::api::schema::NewMemeUpload`; a test holds the
/// two together).
const API_FIELDS: [&str; 5] = ["image", "caption", "font", "fill", "outline"];

/// A text field is never larger than this; only `image` carries bulk.
const MAX_TEXT_FIELD: usize = 16 * 1024;

fn too_large(max_upload_mb: u64) -> AppError {
    AppError::PayloadTooLarge(format!("That upload is too large. The limit is {max_upload_mb} MB."))
}

fn multipart_error(e: MultipartError, max_upload_mb: u64) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large(max_upload_mb)
    } else {
        AppError::BadRequest("The form could not be read. Please try again.".into())
    }
}

impl MemeForm {
    /// Reads the whole form, then checks the CSRF token before anything else happens: `csrf` is
    /// the request's secret and the `X-CSRF-Token` header (the editor's script sends the token
    /// there), or `None` for a caller authenticated otherwise (an API token).
    pub async fn read(
        mut multipart: Multipart,
        csrf: Option<(&CsrfSecret, Option<&str>)>,
        config: &Config,
    ) -> Result<Self, AppError> {
        let header_token = csrf.and_then(|(_, header)| header);
        // The API's form (no CSRF: a token authenticated it) has only its documented fields; the
        // page's tolerates others (browser extensions add some).
        let strict = csrf.is_none();
        let max_upload_mb = config.max_upload_mb;
        let mut form = MemeForm::default();
        let mut token = header_token.map(str::to_owned);
        let mut image = None;
        let mut draft = None;
        while let Some(mut field) = multipart.next_field().await.map_err(|e| multipart_error(e, max_upload_mb))? {
            let name = field.name().unwrap_or_default().to_owned();
            if strict && !API_FIELDS.contains(&name.as_str()) {
                return Err(AppError::Unprocessable(format!(
                    "{name:?} is not a field of this form: it takes {}.",
                    API_FIELDS.join(", ")
                )));
            }
            if name == "image" {
                // Streamed to the spool as it arrives, and refused the moment the file itself
                // passes the limit (not the whole body, which carries the other fields too).
                let mut writer = UploadWriter::new(&config.spool_dir(), config.max_upload_bytes());
                while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, max_upload_mb))? {
                    writer.write(chunk).await.map_err(|e| match e {
                        WriteError::TooLarge(_) => too_large(max_upload_mb),
                        WriteError::Io(e) => AppError::Internal(e.into()),
                    })?;
                }
                let upload = writer.finish();
                // An empty file input (no file chosen) arrives as an empty part.
                if !upload.is_empty() {
                    image = Some(upload);
                }
                continue;
            }
            let bytes = field.bytes().await.map_err(|e| multipart_error(e, max_upload_mb))?;
            if bytes.len() > MAX_TEXT_FIELD {
                return Err(AppError::PayloadTooLarge(format!("The field {name:?} is too long.")));
            }
            let value = String::from_utf8(bytes.to_vec())
                .map_err(|_| AppError::BadRequest(format!("The field {name:?} is not valid text.")))?;
            match name.as_str() {
                "csrf_token" => token = Some(value),
                "template" if !value.trim().is_empty() => form.template = Some(value.trim().to_owned()),
                "remix" if !value.trim().is_empty() => form.remix = Some(value.trim().to_owned()),
                "draft" if !value.trim().is_empty() => draft = Some(value.trim().to_owned()),
                "caption" => form.captions.push(
                    Caption::parse(&value)
                        .map_err(|e| AppError::Unprocessable(format!("Caption {}: {e}", form.captions.len() + 1)))?
                        .into_string(),
                ),
                "font" => form.fonts.push(value),
                "fill" => form.fills.push(value),
                "outline" => form.outlines.push(value),
                "x" => form.geometry[0].push(value),
                "y" => form.geometry[1].push(value),
                "w" => form.geometry[2].push(value),
                "h" => form.geometry[3].push(value),
                "layout" => form.layout = Some(value),
                "save" => form.save = value == "1",
                "share_template" => form.share_template = value == "1",
                "template_name" => form.template_name = Some(value.trim().to_owned()),
                "edit" => form.edit = Some(value),
                _ => {}
            }
            let counts = [form.captions.len(), form.fonts.len(), form.fills.len(), form.outlines.len()];
            if counts.into_iter().chain(form.geometry.iter().map(Vec::len)).any(|n| n > MAX_BOXES) {
                return Err(AppError::Unprocessable(format!("A meme can have at most {MAX_BOXES} text boxes.")));
            }
            if strict {
                check_api_style(&name, &form)?;
            }
        }
        if let Some((secret, _)) = csrf {
            secret.require(token.as_deref()).await?;
            // A draft is this browser's: it is looked for under the browser's own tag only.
            if let Some(draft) = draft {
                let id = DraftId::parse(&draft).map_err(|e| AppError::Unprocessable(e.to_string()))?;
                form.draft = Some(DraftRef { owner: secret.draft_owner(), id, max_bytes: config.max_upload_bytes() });
            }
        }
        if let Some(upload) = image {
            form.image = Some(ProbedUpload::sniff(upload).await?);
        }
        Ok(form)
    }

    /// The captions, or the default two empty boxes.
    pub fn captions(&self) -> Vec<String> {
        if self.captions.is_empty() { vec![String::new(), String::new()] } else { self.captions.clone() }
    }
}

/// The form as a request: the picture (a remix first, then an upload, a draft, a template), one
/// box per caption with its own font and colours, and Save when `save=1` (else Download; the
/// preview route and anonymous visitors change that).
impl TryFrom<MemeForm> for MemeRequest {
    type Error = AppError;

    fn try_from(form: MemeForm) -> Result<Self, AppError> {
        // A file sent with the form is newer than a draft made before it.
        let picture = match (form.remix.as_deref(), form.image, form.draft, form.template) {
            (Some(remix), _, _, _) => PictureChoice::Remix(
                MemeId::parse(remix).map_err(|_| AppError::Unprocessable("That meme id is not valid.".into()))?,
            ),
            (None, Some(upload), _, _) => PictureChoice::Upload(upload),
            (None, None, Some(draft), _) => PictureChoice::Draft(draft),
            (None, None, None, Some(template)) => PictureChoice::Template(template),
            (None, None, None, None) => {
                return Err(AppError::Unprocessable("Choose a template or upload an image first.".into()));
            }
        };
        let count = form.captions.len().max(if form.captions.is_empty() { 2 } else { 0 });
        let boxes = (0..count)
            .map(|i| {
                let field = |list: &[String]| list.get(i).filter(|v| !v.is_empty()).cloned();
                let font = field(&form.fonts)
                    .map(|f| f.parse::<FontChoice>().map_err(|_| format!("Caption {}: unknown font {f:?}.", i + 1)))
                    .transpose()?;
                let colour = |list: &[String], example: &str| {
                    field(list)
                        .map(|c| {
                            colour(&c)
                                .ok_or_else(|| format!("Caption {}: {c:?} is not a colour like {example}.", i + 1))
                        })
                        .transpose()
                };
                Ok(BoxRequest {
                    text: form.captions.get(i).cloned().unwrap_or_default(),
                    font,
                    fill: colour(&form.fills, "#ffffff")?,
                    outline: colour(&form.outlines, "#000000")?,
                    placement: placement(&form.geometry, i)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(AppError::Unprocessable)?;
        let layout = form
            .layout
            .as_deref()
            .filter(|l| !l.is_empty())
            .map(|l| l.parse::<Layout>().map_err(|e| AppError::Unprocessable(e.to_string())))
            .transpose()?;
        let intent = if form.save {
            Intent::Save { share_as_template: form.share_template.then(|| form.template_name.unwrap_or_default()) }
        } else {
            Intent::Download
        };
        Ok(MemeRequest { picture, boxes, layout, intent })
    }
}

/// Box `i`'s place from the percent fields, or `None` when the form gave none for it.
fn placement(geometry: &[Vec<String>; 4], i: usize) -> Result<Option<Placement>, String> {
    let [x, y, w, h] = geometry.each_ref().map(|list| list.get(i).map(|v| v.trim()).filter(|v| !v.is_empty()));
    if [x, y, w, h].iter().all(Option::is_none) {
        return Ok(None);
    }
    let refused =
        || format!("Text box {}: its position and size are percentages of the picture, from 0 to 100.", i + 1);
    let fraction = |v: Option<&str>| -> Result<Option<f32>, String> {
        v.map(|v| v.parse::<f32>().map(|p| p / 100.0).map_err(|_| refused())).transpose()
    };
    Placement::new(fraction(x)?, fraction(y)?, fraction(w)?, fraction(h)?).map(Some).map_err(|_| refused())
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    /// The fields the API's form takes are the ones its document names, no more, no fewer.
    #[test]
    fn the_api_forms_fields_are_the_documents() {
        let document = serde_json::to_value(crate::web::api::ApiDoc::openapi()).unwrap();
        let properties = &document["components"]["schemas"]["NewMemeUpload"]["properties"];
        let mut documented: Vec<&str> =
            properties.as_object().expect("NewMemeUpload has properties").keys().map(String::as_str).collect();
        let mut taken = super::API_FIELDS.to_vec();
        documented.sort_unstable();
        taken.sort_unstable();
        assert_eq!(taken, documented);
    }
}
