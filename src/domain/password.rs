use std::fmt;

use super::InvalidInput;

/// A password as typed at sign-up: 10–128 characters. Its `Debug` is redacted so it can never
/// reach a log line, even through a `#[derive(Debug)]` on a form.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;
    /// Upper bound keeps argon2's input (and the time an attacker can make us spend) bounded.
    pub const MAX_CHARS: usize = 128;

    /// Parses a new password (sign-up).
    pub fn parse(input: String) -> Result<Self, InvalidInput> {
        let chars = input.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(InvalidInput::new(format!("A password needs at least {} characters.", Self::MIN_CHARS)));
        }
        if chars > Self::MAX_CHARS {
            return Err(InvalidInput::new(format!("A password can have at most {} characters.", Self::MAX_CHARS)));
        }
        Ok(Self(input))
    }

    /// Wraps a password typed at sign-in. It is not checked against the sign-up rules (those may
    /// change), only capped in length so hashing stays cheap.
    pub fn for_sign_in(input: String) -> Option<Self> {
        (input.chars().count() <= Self::MAX_CHARS).then_some(Self(input))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_huge_passwords_are_rejected() {
        assert!(Password::parse("123456789".into()).is_err());
        assert!(Password::parse("x".repeat(129)).is_err());
        assert!(Password::parse("correct horse".into()).is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(Password::parse("éééééééééé".into()).is_ok());
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let p = Password::parse("hunter2hunter2".into()).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
