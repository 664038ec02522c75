//! Templates: sharing an uploaded picture as a public one.

use bytes::Bytes;

use super::Context;
use super::ServiceError;
use super::memes::Picture;
use super::requests::Actor;
use crate::domain::{MemeId, SharedTemplate};
use crate::render::{MemeSpec, Outputs};
use crate::storage::BlobKey;

/// A shared template's name is at most this many characters.
pub const NAME_MAX_CHARS: usize = 80;

/// Shares an uploaded picture as a public template: its original (unchanged) and a gallery
/// thumbnail go to media storage, then the record.
pub async fn share(cx: Context<'_>, actor: &Actor, bytes: Bytes, name: &str) -> Result<SharedTemplate, ServiceError> {
    let info = cx.renderer.probe(&bytes)?;
    let id = format!("u-{}", MemeId::new());
    let name = Some(name.trim()).filter(|n| !n.is_empty()).unwrap_or("Untitled template");
    let name: String = name.chars().take(NAME_MAX_CHARS).collect();
    let bad_key = || ServiceError::Internal(anyhow::anyhow!("bad template key for {id}"));
    let original =
        BlobKey::parse(&format!("templates/{id}/original.{}", info.format.extension())).ok_or_else(bad_key)?;
    let thumb_key = BlobKey::parse(&format!("templates/{id}/thumb.jpg")).ok_or_else(bad_key)?;
    let rendered =
        cx.renderer.render(&Picture::Stored(bytes.clone()), &MemeSpec::default(), Outputs::THUMBNAIL).await?;
    let thumb = rendered.thumbnail.ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("no thumbnail")))?;
    cx.storage.blobs.put(&original, bytes, info.format.mime()).await?;
    cx.storage.blobs.put(&thumb_key, Bytes::from(thumb.bytes), thumb.mime).await?;
    let template = SharedTemplate {
        id,
        name,
        owner_id: actor.id,
        owner: actor.username.clone(),
        original_key: original.clone(),
        thumb_key: thumb_key.clone(),
        width: info.width,
        height: info.height,
        created_at: super::now_to_the_second(),
    };
    cx.storage.templates.create(&template).await?;
    tracing::info!(template = %template.id, owner = %template.owner, "template shared");
    Ok(template)
}
