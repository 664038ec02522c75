use time::OffsetDateTime;

use super::{BlobKey, CommentId, InvalidInput, MemeId, UserId, Username};
use crate::render::MemeSpec;

/// What a meme was drawn on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemeSource {
    /// A template from the gallery (a starter template or one a user shared), by its id.
    Template(String),
    /// An image uploaded for this meme only; the original is kept unchanged under this key.
    Upload { original_key: BlobKey },
}

/// Where a meme's images are stored (immutable keys: new content, new key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemeMedia {
    pub display_key: BlobKey,
    pub thumb_key: BlobKey,
    /// "image/jpeg", or "image/gif" for an animated meme.
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub thumb_width: u32,
    pub thumb_height: u32,
}

/// A saved meme.
#[derive(Debug, Clone, PartialEq)]
pub struct Meme {
    pub id: MemeId,
    pub creator_id: UserId,
    pub creator: Username,
    pub source: MemeSource,
    /// The meme this one remixes, if any.
    pub parent_id: Option<MemeId>,
    /// The captions in box order, for alt text, search and the remix diff.
    pub captions: Vec<String>,
    /// The full description (boxes, fonts, colours), so a remix starts from the same layout.
    /// Lists may leave it out (the default, no boxes): only a meme's own record carries it.
    pub spec: MemeSpec,
    pub media: MemeMedia,
    pub comment_count: u32,
    pub remix_count: u32,
    pub created_at: OffsetDateTime,
    /// Only while saving a remix: its parent as it is at that moment. A backend may keep a copy
    /// (aws does, so that a remix's page needs no read of its parent); records read back leave
    /// it `None` (a page view has the parent separately).
    pub parent_snapshot: Option<Box<Meme>>,
    /// Only while saving a meme on a shared template: the template's name, kept the same way.
    pub template_name: Option<String>,
}

impl Meme {
    /// The job that tells the creator's subscribers about this meme.
    pub fn published(&self) -> super::MemePublished {
        super::MemePublished {
            meme_id: self.id,
            creator_id: self.creator_id,
            creator: self.creator.clone(),
            thumb_key: self.media.thumb_key.to_string(),
            created_at: self.created_at.unix_timestamp(),
        }
    }

    /// The job that cleans up after this meme once its record is deleted.
    pub fn deleted(&self) -> super::MemeDeleted {
        super::MemeDeleted {
            meme_id: self.id,
            creator_id: self.creator_id,
            creator: self.creator.clone(),
            media: self.owned_media_keys(),
        }
    }

    /// The media keys that are this meme's own: its sizes, and the original of an upload when
    /// it is kept under this meme's id (remixes saved before each meme kept its own copy point
    /// at their parent's, which is not theirs to delete).
    pub fn owned_media_keys(&self) -> Vec<String> {
        let mut keys = vec![self.media.display_key.to_string(), self.media.thumb_key.to_string()];
        if let MemeSource::Upload { original_key } = &self.source
            && original_key.as_str().starts_with(&format!("originals/{}", self.id))
        {
            keys.push(original_key.to_string());
        }
        keys
    }

    pub fn template_id(&self) -> Option<&str> {
        match &self.source {
            MemeSource::Template(id) => Some(id),
            MemeSource::Upload { .. } => None,
        }
    }

    /// Text for the image's `alt` attribute.
    pub fn alt_text(&self) -> String {
        let said: Vec<&str> = self.captions.iter().map(|c| c.trim()).filter(|c| !c.is_empty()).collect();
        if said.is_empty() { "A meme without captions".to_owned() } else { format!("Meme: {}", said.join(" / ")) }
    }
}

/// A comment's text: 1–2,000 characters after cleaning (see [`super::text`]) and trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentBody(String);

impl CommentBody {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let cleaned = super::text::clean(input);
        let text = cleaned.trim();
        if text.is_empty() {
            return Err(InvalidInput::new("Write something before posting a comment."));
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new(format!("A comment can have at most {} characters.", Self::MAX_CHARS)));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: CommentId,
    pub meme_id: MemeId,
    pub author_id: UserId,
    pub author: Username,
    pub body: CommentBody,
    pub created_at: OffsetDateTime,
}

/// A template shared by a user (starter templates live in the render engine's catalog).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedTemplate {
    pub id: String,
    pub name: String,
    pub owner_id: UserId,
    pub owner: Username,
    pub original_key: BlobKey,
    pub thumb_key: BlobKey,
    pub width: u32,
    pub height: u32,
    pub created_at: OffsetDateTime,
}

/// How much a template is used, for its page and chart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateStats {
    pub memes: u64,
    pub remixes: u64,
    /// Memes made per day, oldest first, for the last days asked for (days without memes are 0).
    pub daily: Vec<(time::Date, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_trimmed_and_bounded() {
        assert_eq!(CommentBody::parse("  hi  ").unwrap().as_str(), "hi");
        assert!(CommentBody::parse("   ").is_err());
        assert!(CommentBody::parse(&"x".repeat(2001)).is_err());
        assert!(CommentBody::parse(&"é".repeat(2000)).is_ok());
    }
}
