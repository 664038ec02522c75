//! Making, saving and deleting memes.

use std::sync::Arc;

use bytes::Bytes;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::domain::{Meme, MemeId, MemeMedia, MemeSource, UserId, Username};
use crate::render::{self, Encoded, Engine, MemeSpec, Outputs, RenderError, Rendered, Source};
use crate::storage::{BlobKey, Storage, StorageError};

pub use super::uploads::Upload;

/// Where the picture comes from, resolved and owned (so it can move to the blocking pool).
#[derive(Debug, Clone)]
pub enum Picture {
    /// A builtin template, or a shared one already registered with the engine.
    Template(String),
    /// An upload (the only picture that may be shared as a template).
    Upload(Upload),
    /// An image already stored: the original of a meme being remixed, or a shared template's.
    Stored(Bytes),
}

impl Picture {
    /// The image's bytes in memory; `None` for a template (the engine has it decoded).
    pub async fn bytes(&self) -> anyhow::Result<Option<Bytes>> {
        match self {
            Picture::Template(_) => Ok(None),
            Picture::Upload(upload) => upload.bytes().await.map(Some),
            Picture::Stored(bytes) => Ok(Some(bytes.clone())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MemeError {
    /// The input cannot be drawn (bad image, bad description): a 4xx with this message.
    #[error("{0}")]
    BadInput(String),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<RenderError> for MemeError {
    fn from(e: RenderError) -> Self {
        if let Some(reason) = bomb_reason(&e) {
            tracing::warn!(event = "image_rejected", reason, detail = %e, "an image was refused by the decoding limits");
        }
        if e.is_bad_input() { Self::BadInput(sentence(&e.to_string())) } else { Self::Internal(anyhow::Error::new(e)) }
    }
}

/// Refusals that protect the server (as opposed to plain bad files), for the security log.
fn bomb_reason(e: &RenderError) -> Option<&'static str> {
    match e {
        RenderError::TooLarge { .. } => Some("too large"),
        RenderError::MemoryLimit => Some("memory limit"),
        RenderError::TooManyFrames { .. } => Some("too many frames"),
        RenderError::FrameLargerThanScreen { .. } => Some("frame larger than its picture"),
        _ => None,
    }
}

/// "image is too large: …" → "Image is too large: ….": engine messages as sentences.
fn sentence(message: &str) -> String {
    let mut chars = message.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    let mut s = first + chars.as_str();
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// The engine plus a bound on concurrent renders: image work is CPU-bound, so at most one per
/// core runs at a time and the rest queue, instead of starving page requests.
#[derive(Clone)]
pub struct Renderer {
    pub engine: Arc<Engine>,
    slots: Arc<Semaphore>,
}

impl Renderer {
    pub fn new(engine: Arc<Engine>, concurrent: usize) -> Self {
        Self { engine, slots: Arc::new(Semaphore::new(concurrent.max(1))) }
    }

    pub async fn render(&self, picture: &Picture, spec: &MemeSpec, outputs: Outputs) -> Result<Rendered, MemeError> {
        let _slot = self.slots.acquire().await.map_err(|e| MemeError::Internal(e.into()))?;
        let engine = self.engine.clone();
        // A spooled upload comes into memory only now, holding a slot: however many uploads
        // wait, at most one per slot is in memory to be decoded.
        let bytes = picture.bytes().await?;
        let template = match picture {
            Picture::Template(id) => Some(id.clone()),
            _ => None,
        };
        let spec = spec.clone();
        tokio::task::spawn_blocking(move || {
            let source = match (&template, &bytes) {
                (Some(id), _) => Source::Template(id),
                (None, Some(bytes)) => Source::Upload(bytes),
                (None, None) => return Err(RenderError::Internal("a picture without bytes".into())),
            };
            engine.render(source, &spec, outputs)
        })
        .await
        .map_err(|e| MemeError::Internal(anyhow::anyhow!("render task failed: {e}")))?
        .map_err(MemeError::from)
    }

    /// Checks an upload's type and size from its header (cheap, before any decoding).
    pub fn probe(&self, bytes: &[u8]) -> Result<render::ProbeInfo, MemeError> {
        Ok(self.engine.probe(bytes)?)
    }
}

/// What a new meme is made of.
pub struct NewMeme {
    pub creator_id: UserId,
    pub creator: Username,
    pub picture: Picture,
    pub template_id: Option<String>,
    /// The shared template's name, when drawn on one (kept with the meme where the backend
    /// wants it for the meme's page).
    pub shared_template_name: Option<String>,
    /// The meme this one remixes.
    pub parent: Option<Meme>,
    pub captions: Vec<String>,
    pub spec: MemeSpec,
}

fn key(text: String) -> Result<BlobKey, MemeError> {
    BlobKey::parse(&text).ok_or_else(|| MemeError::Internal(anyhow::anyhow!("invalid media key {text}")))
}

fn extension_of(encoded: &Encoded) -> &'static str {
    if encoded.mime == "image/gif" { "gif" } else { "jpg" }
}

/// Renders, stores the media, then the record (with its notifications, in one transaction).
/// Media are written first: a crash in between leaves unreferenced files, never a meme whose
/// images are missing.
pub async fn save(storage: &Storage, renderer: &Renderer, new: NewMeme) -> Result<Meme, MemeError> {
    let rendered = renderer.render(&new.picture, &new.spec, Outputs::SAVE).await?;
    let (Some(display), Some(thumb)) = (rendered.display, rendered.thumbnail) else {
        return Err(MemeError::Internal(anyhow::anyhow!("the engine returned no display image")));
    };
    let id = MemeId::new();
    let mut written = Vec::new();
    let display_key = key(format!("memes/{id}/display.{}", extension_of(&display)))?;
    let thumb_key = key(format!("memes/{id}/thumb.{}", extension_of(&thumb)))?;
    let source = match (&new.template_id, &new.picture) {
        (Some(template), _) => MemeSource::Template(template.clone()),
        (None, Picture::Template(template)) => MemeSource::Template(template.clone()),
        // A meme without a template keeps its own unchanged copy of the picture, so deleting
        // one meme never takes the picture from under another (its remixes).
        (None, Picture::Upload(_) | Picture::Stored(_)) => {
            let bytes = new.picture.bytes().await?.ok_or_else(|| anyhow::anyhow!("an image picture without bytes"))?;
            let format = renderer.probe(&bytes)?.format;
            let original = key(format!("originals/{id}.{}", format.extension()))?;
            storage.blobs.put(&original, bytes, format.mime()).await?;
            written.push(original.clone());
            MemeSource::Upload { original_key: original.as_str().to_owned() }
        }
    };
    let meme = Meme {
        id,
        creator_id: new.creator_id,
        creator: new.creator,
        source,
        parent_id: new.parent.as_ref().map(|p| p.id),
        captions: new.captions,
        spec_json: serde_json::to_string(&new.spec).map_err(|e| MemeError::Internal(e.into()))?,
        media: MemeMedia {
            display_key: display_key.as_str().to_owned(),
            thumb_key: thumb_key.as_str().to_owned(),
            content_type: display.mime.to_owned(),
            width: display.width,
            height: display.height,
            thumb_width: thumb.width,
            thumb_height: thumb.height,
        },
        comment_count: 0,
        remix_count: 0,
        created_at: OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        parent_snapshot: new.parent.map(Box::new),
        template_name: new.shared_template_name,
    };
    let stored = async {
        storage.blobs.put(&display_key, Bytes::from(display.bytes), display.mime).await?;
        written.push(display_key.clone());
        storage.blobs.put(&thumb_key, Bytes::from(thumb.bytes), thumb.mime).await?;
        written.push(thumb_key.clone());
        storage.memes.create(&meme).await
    }
    .await;
    if let Err(e) = stored {
        for key in &written {
            let _ = storage.blobs.delete(key).await;
        }
        return Err(e.into());
    }
    tracing::info!(meme = %meme.id, creator = %meme.creator, "meme saved");
    Ok(meme)
}

/// Deletes a meme: its record goes at once (the page answers without waiting); its media, and
/// whatever else the backend could not delete in the record's transaction, go with the
/// "deleted" job the delivery worker does next (`notify::worker`).
pub async fn delete(storage: &Storage, meme: &Meme) -> Result<(), MemeError> {
    let Some(deleted) = storage.memes.delete(meme.id).await? else {
        return Err(MemeError::NotFound);
    };
    tracing::info!(meme = %deleted.id, "meme deleted");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn engine_messages_become_sentences() {
        assert_eq!(super::sentence("image data is corrupt or truncated"), "Image data is corrupt or truncated.");
    }
}
