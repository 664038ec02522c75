//! Opening the editor: what it starts from (a meme to remix) and the shared templates its
//! picker offers.

use super::{Context, ServiceError};
use crate::domain::{Meme, MemeId, SharedTemplate, UserId};
use crate::storage::PageRequest;

/// How many shared templates the picker offers (the newest; the gallery pages through all).
pub const PICKER_SHARED: usize = 48;

/// What the editor opens with.
pub struct EditorStart {
    pub remix: Option<Meme>,
    /// The viewer's own shared templates first, then everyone else's, newest first; the one
    /// chosen is among them even when it is older than the newest [`PICKER_SHARED`].
    pub shared: Vec<SharedTemplate>,
}

pub async fn start(
    cx: Context<'_>,
    viewer: Option<UserId>,
    remix: Option<MemeId>,
    chosen_template: Option<&str>,
) -> Result<EditorStart, ServiceError> {
    let remix = match remix {
        Some(id) => Some(super::memes::get(cx, id).await?),
        // A remix keeps its picture: no picker.
        None => None,
    };
    if remix.is_some() {
        return Ok(EditorStart { remix, shared: Vec::new() });
    }
    let mut shared = cx.storage.templates.list(PageRequest::first(PICKER_SHARED)).await?.items;
    if let Some(id) = chosen_template.filter(|id| id.starts_with("u-") && id.len() <= 64)
        && !shared.iter().any(|t| t.id == id)
        && let Some(template) = cx.storage.templates.get(id).await?
    {
        shared.insert(0, template);
    }
    // Stable: within each group the newest stay first.
    shared.sort_by_key(|t| Some(t.owner_id) != viewer);
    Ok(EditorStart { remix, shared })
}
