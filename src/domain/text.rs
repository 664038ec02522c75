//! Text people type (captions, comments), cleaned once at the domain boundary.
//!
//! Removed, because they can only do harm where the text goes next:
//! - C0 controls other than newline and tab (and DEL, and the C1 block): XML 1.0 forbids
//!   most of them, so one U+0001 in a caption made the Atom feed unparseable; terminals and
//!   email clients interpret others.
//! - Bidi embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069): they make
//!   text display in an order other than the one it is stored in ("Trojan Source"), e.g. a
//!   comment reading `txt.exe` as `exe.txt`. Plain right-to-left text needs none of them: the
//!   Unicode bidi algorithm orders it by itself, and the marks U+200E/U+200F stay allowed.
//!
//! A carriage return is folded into the newline it usually precedes, so text from any
//! platform is stored one way.

use super::InvalidInput;

/// Whether `c` is removed from user text.
fn is_removed(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        // Noncharacters XML 1.0 forbids too.
        '\u{fffe}' | '\u{ffff}' => true,
        _ => false,
    }
}

/// `input` with CRLF and lone CR as newlines and the characters above removed.
pub fn clean(input: &str) -> String {
    let unified = input.replace("\r\n", "\n").replace('\r', "\n");
    unified.chars().filter(|&c| !is_removed(c)).collect()
}

/// A caption for one text box: cleaned, at most [`Caption::MAX_CHARS`] characters. Empty is
/// allowed (a box left blank).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caption(String);

impl Caption {
    pub const MAX_CHARS: usize = crate::render::MAX_TEXT_CHARS;

    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let text = clean(input);
        if text.chars().count() > Self::MAX_CHARS {
            return Err(InvalidInput::new(format!("A caption can have at most {} characters.", Self::MAX_CHARS)));
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn controls_and_bidi_overrides_go_and_newlines_and_tabs_stay() {
        assert_eq!(clean("a\u{1}b\u{8}c\u{b}d\u{1b}e\u{7f}f\u{85}g"), "abcdefg");
        assert_eq!(clean("evil\u{202e}txt.exe\u{2066}x\u{2069}"), "eviltxt.exex");
        assert_eq!(clean("one\r\ntwo\rthree\n\tfour"), "one\ntwo\nthree\n\tfour");
        assert_eq!(clean("שלום \u{200f}world مرحبا 👍🏽"), "שלום \u{200f}world مرحبا 👍🏽");
    }

    #[test]
    fn captions_are_bounded_after_cleaning() {
        assert!(Caption::parse(&"x".repeat(Caption::MAX_CHARS)).is_ok());
        assert!(Caption::parse(&"x".repeat(Caption::MAX_CHARS + 1)).is_err());
        let padded = format!("{}{}", "x".repeat(Caption::MAX_CHARS), "\u{1}".repeat(10));
        assert_eq!(Caption::parse(&padded).unwrap().as_str().len(), Caption::MAX_CHARS);
    }

    proptest! {
        #[test]
        fn cleaned_text_is_always_valid_xml_character_data(input in "\\PC*|[\\x00-\\x1f\\u{202a}-\\u{202e}a-z]*") {
            let out = clean(&input);
            for c in out.chars() {
                let xml_ok = matches!(c, '\t' | '\n' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}');
                prop_assert!(xml_ok, "{:?}", c);
            }
            prop_assert_eq!(clean(&out), out.clone(), "cleaning twice changes nothing");
        }
    }
}
