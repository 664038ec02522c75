//! Record identifiers: 128-bit, time-ordered (48-bit millisecond timestamp + 80 random bits,
//! the ULID layout), written as 26 characters of lower-case Crockford base32.
//!
//! Time order matters: "newest first" is simply "id descending", one sort key on both backends,
//! and cursor pagination by id never repeats or skips an item while new ones arrive.

use rand::RngCore;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const LEN: usize = 26;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id")]
pub struct IdError;

/// A new id, strictly greater than every id this process made before. Within one millisecond
/// the random part is incremented (ULID's monotonic mode), so ids made in a burst still sort in
/// creation order and "newest first" holds.
pub(crate) fn new_raw() -> u128 {
    static LAST: std::sync::Mutex<u128> = std::sync::Mutex::new(0);
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0)
        & ((1 << 48) - 1);
    let mut random = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut random);
    let mut candidate = millis << 80;
    for (i, b) in random.iter().enumerate() {
        candidate |= (*b as u128) << (8 * (9 - i));
    }
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let id = if candidate > *last { candidate } else { last.wrapping_add(1) };
    *last = id;
    id
}

/// The id's text, on the stack: ids are written into every link of every page.
pub(crate) fn encode(mut value: u128) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value & 31) as usize];
        value >>= 5;
    }
    out
}

/// Byte → digit value, 255 for bytes outside the alphabet (ids are decoded for every row read).
const DIGITS: [u8; 256] = {
    let mut table = [255u8; 256];
    let mut i = 0;
    while i < 32 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

pub(crate) fn decode(text: &str) -> Result<u128, IdError> {
    if text.len() != LEN {
        return Err(IdError);
    }
    let mut value: u128 = 0;
    for (i, c) in text.bytes().enumerate() {
        let digit = DIGITS[c as usize];
        if digit == 255 {
            return Err(IdError);
        }
        let digit = digit as u128;
        // 26 × 5 = 130 bits: the first character may only carry 3 of them.
        if i == 0 && digit > 7 {
            return Err(IdError);
        }
        value = (value << 5) | digit;
    }
    Ok(value)
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u128);

        impl $name {
            pub fn new() -> Self {
                Self($crate::domain::id::new_raw())
            }

            pub fn parse(text: &str) -> Result<Self, $crate::domain::IdError> {
                $crate::domain::id::decode(text).map(Self)
            }

            /// When the id was made, in milliseconds since the Unix epoch.
            pub fn created_at_millis(self) -> u64 {
                (self.0 >> 80) as u64
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let text = $crate::domain::id::encode(self.0);
                // Only ASCII from the alphabet was written.
                f.write_str(std::str::from_utf8(&text).map_err(|_| std::fmt::Error)?)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// Identifies an account.
    UserId
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_made_later_sort_later() {
        let a = UserId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = UserId::new();
        assert!(a < b);
        assert!(a.to_string() < b.to_string(), "text order must match numeric order");
    }

    #[test]
    fn ids_made_in_a_burst_are_strictly_increasing() {
        let ids: Vec<UserId> = (0..1000).map(|_| UserId::new()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1] && w[0].to_string() < w[1].to_string()));
    }

    #[test]
    fn garbage_is_not_an_id() {
        for bad in ["", "abc", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "8zzzzzzzzzzzzzzzzzzzzzzzzz", "0123456789abcdefghjkmnpqr!"]
        {
            assert!(UserId::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn text_round_trips(raw in any::<u128>()) {
            prop_assert_eq!(decode(std::str::from_utf8(&encode(raw)).unwrap()), Ok(raw));
        }
    }
}

typed_id!(
    /// Identifies a meme.
    MemeId
);

typed_id!(
    /// Identifies a comment.
    CommentId
);

typed_id!(
    /// Identifies a personal API token (not its secret: this id is shown on the account page).
    TokenId
);

typed_id!(
    /// Places a creator's "new subscriber" notice in their inbox (time-ordered like the rest).
    NotificationId
);
