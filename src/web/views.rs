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
    pub display_height: u32,
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
            display_height: meme.media.height,
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

/// What a link to a page shows where it is pasted (chats, social networks): Open Graph and
/// Twitter card tags, rendered by `_share_meta.html`.
#[derive(Debug, Clone)]
pub struct ShareMeta {
    pub title: String,
    pub description: String,
    /// The page's own absolute URL.
    pub url: String,
    pub image: Option<ShareImage>,
}

/// A picture for a shared link: absolute (a crawler has no page to resolve it against), with
/// its size, so previews lay out before the image arrives.
#[derive(Debug, Clone)]
pub struct ShareImage {
    pub url: String,
    pub width: u32,
    pub height: u32,
    pub alt: String,
}

impl AppState {
    /// `url` as crawlers and chat apps need it: a path gets the site's public address in front
    /// (media on a CDN are absolute already).
    pub fn absolute_url(&self, url: &str) -> String {
        if url.starts_with('/') { format!("{}{url}", self.config.base_url()) } else { url.to_owned() }
    }
}

/// Most characters of a download's name before its extension.
const MAX_FILE_STEM: usize = 60;

/// A download's file name made from its captions: "one-does-not-simply-walk.jpg", bounded,
/// with only letters and digits (any script) between hyphens. `None` without any caption text.
pub fn caption_file_stem<S: AsRef<str>>(captions: &[S]) -> Option<String> {
    let mut stem = String::new();
    let mut pending_hyphen = false;
    // Each caption starts a new word (a space between them, as it were).
    for c in captions.iter().flat_map(|c| std::iter::once(' ').chain(c.as_ref().chars())) {
        if c.is_alphanumeric() {
            if pending_hyphen && !stem.is_empty() {
                stem.push('-');
            }
            pending_hyphen = false;
            stem.extend(c.to_lowercase());
        } else {
            pending_hyphen = true;
        }
        if stem.chars().count() >= MAX_FILE_STEM {
            break;
        }
    }
    let stem: String = stem.chars().take(MAX_FILE_STEM).collect();
    let stem = stem.trim_end_matches('-').to_owned();
    (!stem.is_empty()).then_some(stem)
}

/// The `Content-Disposition` of a download named after its captions: an ASCII `filename` for
/// old clients and the UTF-8 `filename*` (RFC 6266) when the name has other characters.
pub fn attachment_disposition<S: AsRef<str>>(captions: &[S], extension: &str) -> String {
    let stem = caption_file_stem(captions).unwrap_or_else(|| "sky-high-meme".to_owned());
    if stem.is_ascii() {
        return format!("attachment; filename=\"{stem}.{extension}\"");
    }
    let encoded: String = format!("{stem}.{extension}")
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"sky-high-meme.{extension}\"; filename*=UTF-8''{encoded}")
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
    fn a_download_is_named_after_its_captions_bounded_and_without_punctuation() {
        assert_eq!(
            caption_file_stem(&["One does NOT simply", "walk… into Mordor!"]).as_deref(),
            Some("one-does-not-simply-walk-into-mordor")
        );
        assert_eq!(caption_file_stem(&["", "  ?! "]), None);
        assert_eq!(caption_file_stem(&["猫が 好き"]).as_deref(), Some("猫が-好き"));
        let long = caption_file_stem(&["word ".repeat(40)]).unwrap();
        assert!(long.chars().count() <= MAX_FILE_STEM && !long.ends_with('-'), "{long}");
        assert_eq!(attachment_disposition(&["Hi there"], "jpg"), "attachment; filename=\"hi-there.jpg\"");
        assert_eq!(attachment_disposition::<&str>(&[], "gif"), "attachment; filename=\"sky-high-meme.gif\"");
        assert_eq!(
            attachment_disposition(&["猫"], "jpg"),
            "attachment; filename=\"sky-high-meme.jpg\"; filename*=UTF-8''%E7%8C%AB.jpg"
        );
    }

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
