use std::fmt;

use super::InvalidInput;

/// A username: 3–30 characters of `a-z 0-9 _ -`.
///
/// Usernames are case-insensitively unique, so the parsed form is always lower case: "Alice" and
/// "alice" are the same account, and storage can use the value itself as its uniqueness key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 30;

    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let lowered = input.trim().to_ascii_lowercase();
        let len = lowered.chars().count();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(InvalidInput::new(format!(
                "A username is {} to {} characters long.",
                Self::MIN_LEN,
                Self::MAX_LEN
            )));
        }
        if !lowered.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-') {
            return Err(InvalidInput::new("A username may use only letters a–z, digits, '_' and '-'."));
        }
        Ok(Self(lowered))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Serialised as the text itself; deserialising parses it again, so a stored or queued value
/// is as checked as a typed one.
impl serde::Serialize for Username {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Username {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Username {
    type Error = InvalidInput;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn letter_case_is_folded_so_uniqueness_is_case_insensitive() {
        assert_eq!(Username::parse("Alice_42").unwrap().as_str(), "alice_42");
    }

    #[test]
    fn too_short_too_long_and_odd_characters_are_rejected() {
        for bad in ["ab", "", "a b c", "name!", "émile", &"x".repeat(31), "../etc"] {
            assert!(Username::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    proptest! {
        #[test]
        fn every_valid_pattern_parses(name in "[a-z0-9_-]{3,30}") {
            let parsed = Username::parse(&name).unwrap();
            prop_assert_eq!(parsed.as_str(), name.as_str());
        }

        #[test]
        fn parsing_never_panics_and_output_respects_the_rules(input in "\\PC{0,40}") {
            if let Ok(name) = Username::parse(&input) {
                let s = name.as_str();
                prop_assert!((3..=30).contains(&s.len()));
                prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'));
            }
        }
    }
}
