//! memegen-style emoji names in captions: `:thumbsup:`, `:thumbs_up:`, `:+1:` become 👍. Names
//! are matched without regard to case (captions are often upper-cased before they get here);
//! anything between colons that is not a known name is left as it was typed.

use std::borrow::Cow;

#[path = "emoji_aliases.rs"]
mod aliases;

/// Longest name in the table, in bytes: a longer run between colons is not looked up.
const MAX_NAME: usize = 100;

pub(crate) fn expand_aliases(text: &str) -> Cow<'_, str> {
    if !text.contains(':') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(open) = rest.find(':') {
        let after = &rest[open + 1..];
        let name_len = after.find(':').filter(|&n| n > 0 && n <= MAX_NAME);
        match name_len.and_then(|n| lookup(&after[..n]).map(|e| (n, e))) {
            Some((n, emoji)) => {
                out.push_str(&rest[..open]);
                out.push_str(emoji);
                rest = &after[n + 1..];
                changed = true;
            }
            None => {
                // Keep this colon; the next one may open a name.
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn lookup(name: &str) -> Option<&'static str> {
    if name.bytes().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let lower = name.to_lowercase();
    aliases::ALIASES.binary_search_by(|(k, _)| (*k).cmp(lower.as_str())).ok().map(|i| aliases::ALIASES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_emoji_in_any_case() {
        assert_eq!(expand_aliases("nice :thumbsup:"), "nice 👍");
        assert_eq!(expand_aliases(":+1: :THUMBS_UP: :Joy:"), "👍 👍 😂");
        assert_eq!(expand_aliases("coder :woman_technologist:!"), "coder 👩\u{200D}💻!");
        assert_eq!(expand_aliases(":flag_for_germany: or :de:"), "🇩🇪 or 🇩🇪");
    }

    #[test]
    fn other_colons_are_left_alone() {
        for t in ["12:30", "a: b: c", "::", ":notanemoji: x", "ratio 1:2:3", ":", "x :joy"] {
            assert_eq!(expand_aliases(t), t);
        }
        assert_eq!(expand_aliases("at 12:30 :joy:"), "at 12:30 😂");
        assert!(matches!(expand_aliases("no names here"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_table_is_sorted_and_lower_case() {
        assert!(aliases::ALIASES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(aliases::ALIASES.iter().all(|(k, _)| k.to_lowercase() == *k && k.len() <= MAX_NAME));
    }
}
