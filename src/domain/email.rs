use std::fmt;

use super::InvalidInput;

/// An email address, normalised to lower case so that uniqueness ignores letter case.
///
/// The check is deliberately practical rather than RFC 5322-complete: one `@`, a non-empty local
/// part, a dotted domain, no spaces or control characters, at most 254 characters (the SMTP
/// path limit). Whether the mailbox exists is only known by sending to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let value = input.trim().to_lowercase();
        let invalid = || InvalidInput::new("Enter an email address like name@example.com.");
        if value.is_empty() || value.len() > Self::MAX_LEN {
            return Err(invalid());
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';')) {
            return Err(invalid());
        }
        let (local, domain) = value.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Serialised as the text itself; deserialising parses it again, so a stored or queued value
/// is as checked as a typed one.
impl serde::Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_are_lower_cased_and_trimmed() {
        assert_eq!(Email::parse("  Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for bad in ["", "plain", "@example.com", "a@", "a@b", "a b@c.d", "a@b..c", "a@b@c.d", "a@.b.c", "<a@b.c>"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(input in "\\PC{0,300}") {
            if let Ok(email) = Email::parse(&input) {
                prop_assert!(email.as_str().len() <= Email::MAX_LEN);
                prop_assert_eq!(email.as_str().matches('@').count(), 1);
            }
        }
    }
}
