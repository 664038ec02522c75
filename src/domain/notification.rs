//! In-app notifications: a creator someone follows published a meme (fanned out by the delivery
//! worker), or someone commented on, remixed or subscribed to a creator (a [`Notice`], written
//! by the use case in the same transaction as the action it tells of).

use time::OffsetDateTime;

use super::{Comment, CommentId, Meme, MemeId, User, UserId, Username};

/// What a notification tells its recipient; `actor` of the [`Notification`] did it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationKind {
    /// A creator the recipient follows published this meme.
    NewMeme { meme_id: MemeId, thumb_key: String },
    /// Someone commented on the recipient's meme.
    Comment { meme_id: MemeId, comment_id: CommentId },
    /// Someone remixed the recipient's meme `parent_id` as the meme `meme_id`.
    Remix { meme_id: MemeId, parent_id: MemeId, thumb_key: String },
    /// Someone subscribed to the recipient.
    Subscriber,
}

impl NotificationKind {
    /// The name stored with a creator's notice and put after its position.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NewMeme { .. } => "meme",
            Self::Comment { .. } => "comment",
            Self::Remix { .. } => "remix",
            Self::Subscriber => "subscriber",
        }
    }
}

/// An in-app notification as its recipient's inbox lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub recipient_id: UserId,
    /// Who did it: the creator who published, the commenter, the remixer, the subscriber.
    pub actor: Username,
    pub kind: NotificationKind,
    pub created_at: OffsetDateTime,
    pub read: bool,
    /// Its place in the inbox (newest first is this text descending), see [`Notice::position`].
    pub position: String,
}

impl Notification {
    /// The meme it is about: the new meme, the meme commented on, the remix.
    pub fn meme_id(&self) -> Option<MemeId> {
        match &self.kind {
            NotificationKind::NewMeme { meme_id, .. }
            | NotificationKind::Comment { meme_id, .. }
            | NotificationKind::Remix { meme_id, .. } => Some(*meme_id),
            NotificationKind::Subscriber => None,
        }
    }
}

/// A notification for a creator of something done to them, made by the use case and written by
/// the store in the same transaction as the action (so a crash cannot lose it or write it
/// twice). Nobody is told of what they did themself: the constructors return `None` then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub recipient_id: UserId,
    pub actor_id: UserId,
    pub actor: Username,
    pub kind: NotificationKind,
    /// Its place in the inbox: the time-ordered id of what it tells of (the comment, the remix,
    /// or a new one for a subscription) and `#` and its kind. Among the published memes'
    /// notifications (whose place is the meme id) it sorts by time, and never collides with
    /// one: a remix can be both "someone remixed your meme" and "a creator you follow
    /// published".
    pub position: String,
    pub created_at: OffsetDateTime,
}

impl Notice {
    /// The creator of `meme` hears of `comment` on it (unless they wrote it).
    pub fn comment(meme: &Meme, comment: &Comment) -> Option<Self> {
        let kind = NotificationKind::Comment { meme_id: meme.id, comment_id: comment.id };
        Self::unless_own(meme.creator_id, comment.author_id, &comment.author, kind, comment.id.to_string())
            .map(|notice| Self { created_at: comment.created_at, ..notice })
    }

    /// The creator of `parent` hears of `remix` (unless they remixed their own meme).
    pub fn remix(parent: &Meme, remix: &Meme) -> Option<Self> {
        let kind = NotificationKind::Remix {
            meme_id: remix.id,
            parent_id: parent.id,
            thumb_key: remix.media.thumb_key.to_string(),
        };
        Self::unless_own(parent.creator_id, remix.creator_id, &remix.creator, kind, remix.id.to_string())
            .map(|notice| Self { created_at: remix.created_at, ..notice })
    }

    /// `creator` hears that `subscriber` follows them now.
    pub fn subscriber(creator: &User, subscriber: &User) -> Option<Self> {
        let fresh = super::NotificationId::new().to_string();
        Self::unless_own(creator.id, subscriber.id, &subscriber.username, NotificationKind::Subscriber, fresh)
    }

    fn unless_own(
        recipient: UserId,
        actor_id: UserId,
        actor: &Username,
        kind: NotificationKind,
        id: String,
    ) -> Option<Self> {
        (recipient != actor_id).then(|| Self {
            recipient_id: recipient,
            actor_id,
            actor: actor.clone(),
            position: format!("{id}#{}", kind.name()),
            kind,
            created_at: OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        })
    }

    /// Names the event, which is told once: one notice per comment and per remix, and one per
    /// subscriber however often they unsubscribe and come back.
    pub fn event(&self) -> String {
        match &self.kind {
            NotificationKind::Comment { comment_id, .. } => format!("comment:{comment_id}"),
            NotificationKind::Remix { meme_id, .. } => format!("remix:{meme_id}"),
            NotificationKind::Subscriber => format!("subscriber:{}", self.actor_id),
            NotificationKind::NewMeme { meme_id, .. } => format!("meme:{meme_id}"),
        }
    }

    /// How the recipient's inbox lists it before it is read.
    pub fn to_notification(&self) -> Notification {
        Notification {
            recipient_id: self.recipient_id,
            actor: self.actor.clone(),
            kind: self.kind.clone(),
            created_at: self.created_at,
            read: false,
            position: self.position.clone(),
        }
    }
}

/// Whether `text` is an inbox position: an id, alone (a published meme) or with a kind.
pub fn is_inbox_position(text: &str) -> bool {
    let (id, kind) = match text.split_once('#') {
        Some((id, kind)) => (id, Some(kind)),
        None => (text, None),
    };
    MemeId::parse(id).is_ok() && kind.is_none_or(|k| ["comment", "remix", "subscriber"].contains(&k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_positions_are_ids_with_an_optional_known_kind() {
        let id = MemeId::new().to_string();
        assert!(is_inbox_position(&id));
        assert!(is_inbox_position(&format!("{id}#remix")));
        for bad in [String::new(), "zz".into(), format!("{id}#other"), format!("{id}#"), "~".into()] {
            assert!(!is_inbox_position(&bad), "{bad:?}");
        }
    }
}
