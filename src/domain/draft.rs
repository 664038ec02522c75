//! Draft uploads (issue 15): a picture the editor uploads once and then names by id in every
//! preview, kept for an hour.
//!
//! A draft lives at `drafts/<owner>/<id>`. The owner is a secret tag of the browser that made
//! it (derived from its CSRF cookie, see `web::csrf`), so another browser that learns an id
//! still finds nothing under its own tag. The id carries its expiry (`<unix seconds>-<128
//! random bits in hex>`): whether a draft is live needs no lookup, and a sweep knows what to
//! remove from the names alone. Editing the expiry in an id names another key, which holds
//! nothing.

use rand::RngCore;
use time::OffsetDateTime;

use super::InvalidInput;

const RANDOM_HEX: usize = 32;

/// One draft's id: its expiry and 128 random bits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DraftId {
    text: String,
    expires_at: OffsetDateTime,
}

impl DraftId {
    /// A fresh id for a draft that expires at `expires_at` (to the second).
    pub fn new(expires_at: OffsetDateTime) -> Self {
        let mut random = [0u8; RANDOM_HEX / 2];
        rand::thread_rng().fill_bytes(&mut random);
        let seconds = expires_at.unix_timestamp().max(0);
        let text = format!("{seconds}-{}", hex(&random));
        let expires_at = OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Self { text, expires_at }
    }

    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let invalid = || InvalidInput::new("That upload id is not valid: choose the picture again.");
        let (seconds, random) = text.split_once('-').ok_or_else(invalid)?;
        // Twelve digits reach the year 33658; a longer number is no id of ours.
        if seconds.is_empty() || seconds.len() > 12 || !seconds.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        if random.len() != RANDOM_HEX || !random.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(invalid());
        }
        let seconds: i64 = seconds.parse().map_err(|_| invalid())?;
        let expires_at = OffsetDateTime::from_unix_timestamp(seconds).map_err(|_| invalid())?;
        Ok(Self { text: text.to_owned(), expires_at })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }

    /// Whether the draft is gone at `now` (at its expiry, it is).
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

impl std::fmt::Display for DraftId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The browser a draft belongs to: 128 bits in hex, derived from a secret only that browser
/// holds.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DraftOwner(String);

impl DraftOwner {
    /// The tag from the first 16 bytes of a keyed hash of the browser's secret.
    pub fn from_digest(digest: &[u8]) -> Self {
        Self(hex(&digest[..digest.len().min(RANDOM_HEX / 2)]))
    }

    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == RANDOM_HEX && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The tag is as good as the cookie it comes from: never logged.
impl std::fmt::Debug for DraftOwner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DraftOwner(…)")
    }
}

/// The folder every draft lives under, on disk and in the bucket.
pub const DRAFTS_PREFIX: &str = "drafts/";

/// Where a draft lives: `drafts/<owner>/<id>`.
pub fn draft_key(owner: &DraftOwner, id: &DraftId) -> String {
    format!("{DRAFTS_PREFIX}{}/{}", owner.as_str(), id.as_str())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_with_its_expiry() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let id = DraftId::new(at);
        assert!(id.as_str().starts_with("1800000000-"));
        let parsed = DraftId::parse(id.as_str()).unwrap();
        assert_eq!(parsed, id);
        assert_eq!(parsed.expires_at(), at);
        assert!(!parsed.is_expired(at - time::Duration::seconds(1)));
        assert!(parsed.is_expired(at));
        assert_ne!(DraftId::new(at), id, "random");
    }

    #[test]
    fn anything_else_is_no_id() {
        let random = "0123456789abcdef0123456789abcdef";
        for bad in [
            String::new(),
            random.to_owned(),
            format!("-{random}"),
            format!("12-{}", &random[1..]),
            format!("12-{}", random.to_uppercase()),
            format!("1234567890123-{random}"),
            format!("12-{random}/../x"),
            format!("+12-{random}"),
        ] {
            assert!(DraftId::parse(&bad).is_err(), "{bad:?}");
        }
        assert!(DraftId::parse(&format!("12-{random}")).is_ok());
        assert!(DraftOwner::parse(random).is_some());
        assert!(DraftOwner::parse("../etc").is_none());
    }
}
