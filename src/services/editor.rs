//! Opening the editor: what it starts from (a meme to remix) and the templates its picker
//! offers, most used first.

use std::cmp::Reverse;

use super::{Context, ServiceError};
use crate::domain::{Meme, MemeId, SharedTemplate, UserId};
use crate::render::templates::{self as builtin, Template};
use crate::storage::PageRequest;

/// How many shared templates the picker offers (the newest; the gallery pages through all).
pub const PICKER_SHARED: usize = 48;

/// A template the picker offers, with how many memes were made with it.
#[derive(Debug, Clone)]
pub struct Offered<T> {
    pub template: T,
    pub memes: u64,
}

/// What the editor opens with.
pub struct EditorStart {
    pub remix: Option<Meme>,
    /// The builtin templates, most used first (ties in the catalog's order); none for a remix,
    /// which keeps its picture.
    pub builtin: Vec<Offered<&'static Template>>,
    /// The viewer's own shared templates first, then everyone else's, each group most used first
    /// (ties newest first); the one chosen is among them even when it is older than the newest
    /// [`PICKER_SHARED`].
    pub shared: Vec<Offered<SharedTemplate>>,
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
        return Ok(EditorStart { remix, builtin: Vec::new(), shared: Vec::new() });
    }
    let mut shared = cx.storage.templates.list(PageRequest::first(PICKER_SHARED)).await?.items;
    if let Some(id) = chosen_template.filter(|id| id.starts_with("u-") && id.len() <= 64)
        && !shared.iter().any(|t| t.id == id)
        && let Some(template) = cx.storage.templates.get(id).await?
    {
        shared.insert(0, template);
    }
    // Every count in one request: 8 builtin and at most 49 shared ids.
    let ids: Vec<String> =
        builtin::catalog().iter().map(|t| t.id.to_owned()).chain(shared.iter().map(|t| t.id.clone())).collect();
    let counts = cx.storage.templates.meme_counts(&ids).await?;
    let (builtin_counts, shared_counts) = counts.split_at(builtin::catalog().len().min(counts.len()));
    let mut builtin: Vec<_> =
        builtin::catalog().iter().zip(builtin_counts).map(|(template, &memes)| Offered { template, memes }).collect();
    let mut shared: Vec<_> =
        shared.into_iter().zip(shared_counts).map(|(template, &memes)| Offered { template, memes }).collect();
    // Stable sorts: ties keep the catalog's order, and the newest first among shared ones.
    builtin.sort_by_key(|o| Reverse(o.memes));
    shared.sort_by_key(|o| (Some(o.template.owner_id) != viewer, Reverse(o.memes)));
    Ok(EditorStart { remix, builtin, shared })
}
