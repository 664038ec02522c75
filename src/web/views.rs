//! What templates show of records: display-ready fields (URLs, dates, alt text), built once
//! per request so templates stay free of logic.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use super::AppState;
use crate::domain::{Comment, Meme};
use crate::render::templates;

/// A meme in a grid.
#[derive(Debug, Clone)]
pub struct MemeCard {
    pub id: String,
    pub creator: String,
    pub thumb_url: String,
    pub display_url: String,
    pub thumb_width: u32,
    pub thumb_height: u32,
    pub display_width: u32,
    pub alt: String,
    pub comment_count: u32,
    pub remix_count: u32,
    /// Whether the counts are known (a list that did not read them shows none).
    pub counts: bool,
    pub when: String,
    pub when_iso: String,
}

impl MemeCard {
    pub fn new(state: &AppState, meme: &Meme) -> Self {
        Self {
            id: meme.id.to_string(),
            creator: meme.creator.to_string(),
            thumb_url: state.media_url(&meme.media.thumb_key),
            display_url: state.media_url(&meme.media.display_key),
            thumb_width: meme.media.thumb_width,
            thumb_height: meme.media.thumb_height,
            display_width: meme.media.width,
            alt: meme.alt_text(),
            comment_count: meme.comment_count,
            remix_count: meme.remix_count,
            counts: true,
            when: human_date(meme.created_at),
            when_iso: iso(meme.created_at),
        }
    }

    pub fn without_counts(self) -> Self {
        Self { counts: false, ..self }
    }

    pub fn cards(state: &AppState, memes: &[Meme]) -> Vec<Self> {
        memes.iter().map(|m| Self::new(state, m)).collect()
    }
}

#[derive(Debug, Clone)]
pub struct CommentView {
    pub id: String,
    pub author: String,
    pub body: String,
    pub when: String,
    pub when_iso: String,
    pub can_delete: bool,
}

impl CommentView {
    pub fn new(comment: &Comment, can_delete: bool) -> Self {
        Self {
            id: comment.id.to_string(),
            author: comment.author.to_string(),
            body: comment.body.as_str().to_owned(),
            when: human_date(comment.created_at),
            when_iso: iso(comment.created_at),
            can_delete,
        }
    }
}

/// "22 Nov 2026, 14:05 UTC"
pub fn human_date(at: OffsetDateTime) -> String {
    at.format(format_description!("[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"))
        .unwrap_or_default()
}

pub fn iso(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// The display name of a template id (builtin ones; shared ones are named in storage).
pub fn builtin_template_name(id: &str) -> Option<&'static str> {
    templates::find(id).map(|t| t.name)
}

/// How a remix's captions differ from its parent's, box by box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptionChange {
    Same(String),
    Added(String),
    Removed(String),
    Edited { from: String, to: String },
}

impl CaptionChange {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Same(_) => "same",
            Self::Added(_) => "added",
            Self::Removed(_) => "removed",
            Self::Edited { .. } => "edited",
        }
    }
}

pub fn caption_changes(parent: &[String], child: &[String]) -> Vec<CaptionChange> {
    let n = parent.len().max(child.len());
    (0..n)
        .filter_map(|i| {
            let before = parent.get(i).map(|s| s.trim()).filter(|s| !s.is_empty());
            let after = child.get(i).map(|s| s.trim()).filter(|s| !s.is_empty());
            match (before, after) {
                (None, None) => None,
                (None, Some(a)) => Some(CaptionChange::Added(a.to_owned())),
                (Some(b), None) => Some(CaptionChange::Removed(b.to_owned())),
                (Some(b), Some(a)) if a == b => Some(CaptionChange::Same(a.to_owned())),
                (Some(b), Some(a)) => Some(CaptionChange::Edited { from: b.to_owned(), to: a.to_owned() }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caption_changes_name_what_was_added_removed_and_edited() {
        let parent = vec!["one does not simply".to_owned(), "walk".to_owned(), "".to_owned()];
        let child = vec!["one does not simply".to_owned(), "run".to_owned(), "".to_owned(), "into mordor".to_owned()];
        assert_eq!(
            caption_changes(&parent, &child),
            vec![
                CaptionChange::Same("one does not simply".into()),
                CaptionChange::Edited { from: "walk".into(), to: "run".into() },
                CaptionChange::Added("into mordor".into()),
            ]
        );
        assert_eq!(caption_changes(&["x".into()], &[]), vec![CaptionChange::Removed("x".into())]);
    }
}
