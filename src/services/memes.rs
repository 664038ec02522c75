//! Making memes (preview, download, save), and deleting them: the editor's and the API's use
//! cases, given a parsed [`MemeRequest`].

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Semaphore;

use super::pictures::{self, Resolved};
use super::requests::{Actor, Intent, MemeRequest, ProbedUpload};
use super::{Context, ServiceError};
use crate::domain::{Meme, MemeId, MemeMedia, MemeSource, Notice};
use crate::render::{Encoded, Engine, Format, MemeSpec, OutputFormat, Outputs, RenderError, Rendered, Source};
use crate::storage::BlobKey;
use crate::telemetry::metrics;

/// Where the picture comes from, resolved and owned (so it can move to the blocking pool).
#[derive(Debug, Clone)]
pub enum Picture {
    /// A builtin template, or a shared one already registered with the engine.
    Template(String),
    /// An upload (the only picture that may be shared as a template).
    Upload(ProbedUpload),
    /// An image already stored: the original of a meme being remixed, or a shared template's.
    Stored(Bytes),
}

impl Picture {
    /// The image's bytes in memory; `None` for a template (the engine has it decoded).
    pub async fn bytes(&self) -> anyhow::Result<Option<Bytes>> {
        match self {
            Picture::Template(_) => Ok(None),
            Picture::Upload(probed) => probed.upload.bytes().await.map(Some),
            Picture::Stored(bytes) => Ok(Some(bytes.clone())),
        }
    }
}

/// The engine plus a bound on concurrent renders: image work is CPU-bound, so at most one per
/// core runs at a time and the rest queue, instead of starving page requests.
#[derive(Clone)]
pub struct Renderer {
    pub engine: Arc<Engine>,
    slots: Arc<Semaphore>,
    capacity: usize,
}

impl Renderer {
    pub fn new(engine: Arc<Engine>, concurrent: usize) -> Self {
        let capacity = concurrent.max(1);
        Self { engine, slots: Arc::new(Semaphore::new(capacity)), capacity }
    }

    /// Render slots in use, and how many there are.
    pub fn slots(&self) -> (usize, usize) {
        (self.capacity - self.slots.available_permits().min(self.capacity), self.capacity)
    }

    pub async fn render(&self, picture: &Picture, spec: &MemeSpec, outputs: Outputs) -> Result<Rendered, ServiceError> {
        let spec = spec.clone();
        self.run(picture, move |engine, source| engine.render(source, &spec, outputs)).await
    }

    /// Draws `spec` at a caller's size and format (memes by URL), holding a slot like
    /// [`Renderer::render`].
    pub async fn render_sized(
        &self,
        picture: &Picture,
        spec: &MemeSpec,
        fit: (u32, u32),
        format: OutputFormat,
    ) -> Result<Encoded, ServiceError> {
        let spec = spec.clone();
        self.run(picture, move |engine, source| engine.render_sized(source, &spec, fit, format)).await
    }

    /// Runs engine work on the blocking pool while holding a render slot.
    async fn run<T: Send + 'static>(
        &self,
        picture: &Picture,
        work: impl FnOnce(&Engine, Source<'_>) -> Result<T, RenderError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let asked = std::time::Instant::now();
        let _slot = self.slots.acquire().await.map_err(|e| ServiceError::Internal(e.into()))?;
        let waited = asked.elapsed();
        let engine = self.engine.clone();
        // A spooled upload comes into memory only now, holding a slot: however many uploads
        // wait, at most one per slot is in memory to be decoded.
        let bytes = picture.bytes().await?;
        let template = match picture {
            Picture::Template(id) => Some(id.clone()),
            _ => None,
        };
        tokio::task::spawn_blocking(move || {
            let source = match (&template, &bytes) {
                (Some(id), _) => Source::Template(id),
                (None, Some(bytes)) => Source::Upload(bytes),
                (None, None) => return Err(RenderError::Internal("a picture without bytes".into())),
            };
            let started = std::time::Instant::now();
            let drawn = work(&engine, source);
            match &drawn {
                Ok(_) => metrics::render_done(waited, started.elapsed()),
                Err(e) => metrics::render_rejected(e.reason()),
            }
            drawn
        })
        .await
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("render task failed: {e}")))?
        .map_err(ServiceError::from)
    }

    /// Checks a picture's type and size from its header (before any decoding).
    pub fn probe(&self, bytes: &[u8]) -> Result<crate::render::ProbeInfo, ServiceError> {
        self.engine.probe(bytes).map_err(|e| {
            metrics::render_rejected(e.reason());
            e.into()
        })
    }
}

/// What making a meme came to.
pub enum Made {
    /// A preview or a download: the image, stored nowhere.
    Image(Encoded),
    /// A saved meme.
    Saved(Box<Meme>),
}

/// The one use case behind the editor's Preview, Download and Save and the API's `POST
/// /memes`: resolves the picture, draws the request on it, and keeps it when asked to.
/// `Intent::Save` needs an actor (whose address is confirmed: the door checks that).
pub async fn make(cx: Context<'_>, actor: Option<&Actor>, request: MemeRequest) -> Result<Made, ServiceError> {
    request.validate()?;
    let captions = request.captions();
    let resolved = pictures::resolve(cx.storage, &request.picture, &captions).await?;
    let spec = request.spec(resolved.base.clone());
    let outputs = match &request.intent {
        Intent::Preview => Outputs::PREVIEW,
        Intent::Download => Outputs::DISPLAY,
        Intent::Save { share_as_template } => {
            let actor = actor.ok_or_else(|| ServiceError::Forbidden("Sign in to save memes.".into()))?;
            let meme = save(cx, actor, resolved, spec, share_as_template.as_deref()).await?;
            return Ok(Made::Saved(Box::new(meme)));
        }
    };
    let rendered = cx.renderer.render(&resolved.picture, &spec, outputs).await?;
    let image = if outputs == Outputs::PREVIEW { rendered.preview } else { rendered.display };
    image.map(Made::Image).ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("the engine returned no image")))
}

fn key(text: String) -> Result<BlobKey, ServiceError> {
    BlobKey::parse(&text).ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("invalid media key {text}")))
}

fn extension_of(encoded: &Encoded) -> &'static str {
    if encoded.mime == "image/gif" { "gif" } else { "jpg" }
}

/// Renders, stores the media, then the record (with its notifications, in one transaction),
/// and wakes the delivery worker. Media are written first: a crash in between leaves
/// unreferenced files, never a meme whose images are missing.
///
/// With `share_as_template`, an uploaded picture becomes a public template first and the meme
/// is made on it: its one stored copy is the template's original, and the meme counts as a use
/// of the template.
async fn save(
    cx: Context<'_>,
    actor: &Actor,
    mut resolved: Resolved,
    spec: MemeSpec,
    share_as_template: Option<&str>,
) -> Result<Meme, ServiceError> {
    if let (Some(name), Picture::Upload(probed)) = (share_as_template, &resolved.picture) {
        let bytes = probed.upload.bytes().await?;
        let template = super::templates::share(cx, actor, bytes.clone(), name).await?;
        resolved.picture = Picture::Stored(bytes);
        resolved.template_id = Some(template.id);
        resolved.shared_template_name = Some(template.name);
    }
    let rendered = cx.renderer.render(&resolved.picture, &spec, Outputs::SAVE).await?;
    let (Some(display), Some(thumb)) = (rendered.display, rendered.thumbnail) else {
        return Err(ServiceError::Internal(anyhow::anyhow!("the engine returned no display image")));
    };
    let id = MemeId::new();
    let mut written = Vec::new();
    let display_key = key(format!("memes/{id}/display.{}", extension_of(&display)))?;
    let thumb_key = key(format!("memes/{id}/thumb.{}", extension_of(&thumb)))?;
    let source = match (&resolved.template_id, &resolved.picture) {
        (Some(template), _) => MemeSource::Template(template.clone()),
        (None, Picture::Template(template)) => MemeSource::Template(template.clone()),
        // A meme without a template keeps its own unchanged copy of the picture, so deleting
        // one meme never takes the picture from under another (its remixes).
        (None, picture @ (Picture::Upload(_) | Picture::Stored(_))) => {
            let bytes = picture.bytes().await?.ok_or_else(|| anyhow::anyhow!("an image picture without bytes"))?;
            let format = match picture {
                Picture::Upload(probed) => probed.format,
                _ => Format::detect(&bytes)?,
            };
            let original = key(format!("originals/{id}.{}", format.extension()))?;
            cx.storage.blobs.put(&original, bytes, format.mime()).await?;
            written.push(original.clone());
            MemeSource::Upload { original_key: original }
        }
    };
    let meme = Meme {
        id,
        creator_id: actor.id,
        creator: actor.username.clone(),
        source,
        parent_id: resolved.parent.as_ref().map(|p| p.id),
        captions: spec.boxes.iter().map(|b| b.text.clone()).collect(),
        spec,
        media: MemeMedia {
            display_key: display_key.clone(),
            thumb_key: thumb_key.clone(),
            content_type: display.mime.to_owned(),
            width: display.width,
            height: display.height,
            thumb_width: thumb.width,
            thumb_height: thumb.height,
        },
        comment_count: 0,
        remix_count: 0,
        created_at: super::now_to_the_second(),
        parent_snapshot: resolved.parent.map(Box::new),
        template_name: resolved.shared_template_name,
    };
    // A remix tells its parent's creator, in the meme's transaction.
    let notice = meme.parent_snapshot.as_deref().and_then(|parent| Notice::remix(parent, &meme));
    let stored = async {
        cx.storage.blobs.put(&display_key, Bytes::from(display.bytes), display.mime).await?;
        written.push(display_key.clone());
        cx.storage.blobs.put(&thumb_key, Bytes::from(thumb.bytes), thumb.mime).await?;
        written.push(thumb_key.clone());
        cx.storage.memes.create_with_notice(&meme, notice.as_ref()).await
    }
    .await;
    if let Err(e) = stored {
        for key in &written {
            let _ = cx.storage.blobs.delete(key).await;
        }
        return Err(e.into());
    }
    tracing::info!(meme = %meme.id, creator = %meme.creator, "meme saved");
    if let Some(notice) = notice {
        cx.badges.told(notice.recipient_id);
    }
    // Its subscribers hear now rather than at the worker's next poll.
    cx.wake.now();
    Ok(meme)
}

/// Deletes a meme, if `actor` created it. Its record goes at once (the caller answers without
/// waiting); its media, and whatever else the backend could not delete in the record's
/// transaction, go with the "deleted" job the delivery worker is woken to do
/// (`notify::worker`).
pub async fn delete(cx: Context<'_>, actor: &Actor, id: MemeId) -> Result<Meme, ServiceError> {
    let meme = cx.storage.memes.get(id).await?.ok_or(ServiceError::NotFound)?;
    if meme.creator_id != actor.id {
        return Err(ServiceError::Forbidden("Only the meme's creator can delete it.".into()));
    }
    let deleted = cx.storage.memes.delete(meme.id).await?.ok_or(ServiceError::NotFound)?;
    tracing::info!(meme = %deleted.id, "meme deleted");
    cx.wake.now();
    Ok(deleted)
}

/// A meme by id, or `NotFound`.
pub async fn get(cx: Context<'_>, id: MemeId) -> Result<Meme, ServiceError> {
    cx.storage.memes.get(id).await?.ok_or(ServiceError::NotFound)
}
