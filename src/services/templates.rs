//! Templates: sharing an uploaded picture as a public one, and what a template's page shows.

use bytes::Bytes;

use super::Context;
use super::ServiceError;
use super::memes::Picture;
use super::requests::Actor;
use crate::domain::{Meme, MemeId, SharedTemplate, TemplateStats};
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

/// How many of a template's newest memes its page shows.
pub const PAGE_RECENT_MEMES: usize = 12;
/// How many days a template page's chart covers (up to today).
pub const CHART_DAYS: u16 = 30;

/// What a template's page shows.
pub struct TemplateOverview {
    /// The shared template; `None` for a builtin one.
    pub shared: Option<SharedTemplate>,
    /// Its use counts, with memes per day for the [`CHART_DAYS`] days up to today.
    pub stats: TemplateStats,
    /// The newest memes made with it, newest first (without their counters).
    pub recent: Vec<Meme>,
}

/// A template's page: `NotFound` unless `id` names a builtin template or a shared one.
pub async fn overview(cx: Context<'_>, id: &str, today: time::Date) -> Result<TemplateOverview, ServiceError> {
    let builtin = crate::render::templates::find(id).is_some();
    // Shared ids are "u-" and a meme id: anything else needs no lookup to be unknown.
    let may_be_shared = id.starts_with("u-") && id.len() <= 64;
    if !builtin && !may_be_shared {
        return Err(ServiceError::NotFound);
    }
    // Two requests at once (with the session's, three: SPEC §7).
    let (found, stats) = tokio::try_join!(
        cx.storage.templates.get_with_recent_memes(id, PAGE_RECENT_MEMES),
        cx.storage.templates.stats(id, today, CHART_DAYS),
    )?;
    if !builtin && found.shared.is_none() {
        return Err(ServiceError::NotFound);
    }
    Ok(TemplateOverview { shared: found.shared, stats, recent: found.recent })
}
