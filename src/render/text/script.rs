//! Which writing system a character belongs to, as far as picking a font needs to know: the
//! scripts that have a font of their own in `fonts/fallback/`, and "everything else" for the
//! Latin-style chain. A full Unicode script table would not change a single font choice.

/// A script with its own fallback font, or `Other` (Latin, Greek, Cyrillic, symbols, …) for the
/// chosen font's chain; `Common` characters (spaces, digits, punctuation) and marks take the
/// script of their neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Script {
    Common,
    Other,
    Arabic,
    Hebrew,
    Devanagari,
    Bengali,
    Thai,
    Hangul,
    /// Hiragana and katakana: only Japanese uses them.
    Kana,
    Han,
    /// A colour emoji cluster (decided per grapheme cluster, see [`is_emoji_cluster`]).
    Emoji,
}

impl Script {
    pub fn of(c: char) -> Script {
        match c as u32 {
            0x0590..=0x05FF | 0xFB1D..=0xFB4F => Script::Hebrew,
            0x0600..=0x06FF | 0x0750..=0x077F | 0x0870..=0x08FF | 0xFB50..=0xFDFF | 0xFE70..=0xFEFC => Script::Arabic,
            0x0900..=0x097F | 0xA8E0..=0xA8FF | 0x1CD0..=0x1CFF => Script::Devanagari,
            0x0980..=0x09FF => Script::Bengali,
            0x0E00..=0x0E7F => Script::Thai,
            0x1100..=0x11FF | 0x3130..=0x318F | 0xA960..=0xA97F | 0xAC00..=0xD7FF => Script::Hangul,
            0x3040..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F | 0x1B000..=0x1B16F => Script::Kana,
            0x2E80..=0x2FDF
            | 0x3005
            | 0x3007
            | 0x3021..=0x3029
            | 0x3038..=0x303B
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF => Script::Han,
            0xF900..=0xFAFF | 0x20000..=0x3FFFF => Script::Han,
            // CJK punctuation and full-width forms are shared by all three CJK languages.
            0x3000..=0x303F | 0xFF00..=0xFF65 | 0xFFE0..=0xFFEF => Script::Common,
            _ if c.is_alphabetic() => Script::Other,
            _ => Script::Common,
        }
    }

    /// OpenType script for the shaper; None lets it guess (Latin-style text).
    pub fn shaping(self) -> Option<rustybuzz::Script> {
        use rustybuzz::script;
        Some(match self {
            Script::Arabic => script::ARABIC,
            Script::Hebrew => script::HEBREW,
            Script::Devanagari => script::DEVANAGARI,
            Script::Bengali => script::BENGALI,
            Script::Thai => script::THAI,
            Script::Hangul => script::HANGUL,
            Script::Kana => script::HIRAGANA,
            Script::Han => script::HAN,
            Script::Common | Script::Other | Script::Emoji => return None,
        })
    }

    /// Scripts whose words are hyphenated (and get a hyphen when broken between letters).
    pub fn hyphenates(self) -> bool {
        self == Script::Other
    }
}

/// Formatting characters that draw nothing: joiners, variation selectors, tags, bidi controls.
/// The shaper consumes them; font coverage must not require them.
pub(crate) fn is_default_ignorable(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{E0000}'..='\u{E0FFF}')
}

/// Whether a grapheme cluster is an emoji to draw in colour: a pictograph (not one of the few
/// that default to text style, unless asked with U+FE0F), a flag, a keycap or a ZWJ sequence.
pub(crate) fn is_emoji_cluster(cluster: &str) -> bool {
    let mut chars = cluster.chars();
    let Some(first) = chars.next() else { return false };
    if cluster.contains('\u{FE0E}') {
        return false;
    }
    let asked = cluster.contains('\u{FE0F}') || cluster.contains('\u{20E3}');
    match first as u32 {
        0x1F1E6..=0x1F1FF => true, // regional indicators (flags)
        0x1F300..=0x1FAFF | 0x1F004 | 0x1F0CF | 0x1F18E | 0x1F191..=0x1F19A => true, // emoji blocks
        0x1F000..=0x1F2FF => asked,
        0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2300..=0x23FF | 0x2190..=0x21FF | 0x25A0..=0x25FF => {
            asked || default_emoji_presentation(first)
        }
        0x2000..=0x3300 => asked,
        _ => asked && (first.is_ascii_digit() || first == '#' || first == '*'),
    }
}

/// The characters below U+1F000 that are emoji-style by default (Unicode's
/// Emoji_Presentation=Yes): everything else there is drawn as text unless followed by U+FE0F.
fn default_emoji_presentation(c: char) -> bool {
    matches!(c as u32,
        0x231A..=0x231B | 0x23E9..=0x23EC | 0x23F0 | 0x23F3 | 0x25FD..=0x25FE | 0x2614..=0x2615
        | 0x2648..=0x2653 | 0x267F | 0x2693 | 0x26A1 | 0x26AA..=0x26AB | 0x26BD..=0x26BE
        | 0x26C4..=0x26C5 | 0x26CE | 0x26D4 | 0x26EA | 0x26F2..=0x26F3 | 0x26F5 | 0x26FA | 0x26FD
        | 0x2705 | 0x270A..=0x270B | 0x2728 | 0x274C | 0x274E | 0x2753..=0x2755 | 0x2757
        | 0x2795..=0x2797 | 0x27B0 | 0x27BF | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_of_sample_characters() {
        assert_eq!(Script::of('a'), Script::Other);
        assert_eq!(Script::of('Ж'), Script::Other);
        assert_eq!(Script::of('1'), Script::Common);
        assert_eq!(Script::of(' '), Script::Common);
        assert_eq!(Script::of('م'), Script::Arabic);
        assert_eq!(Script::of('ש'), Script::Hebrew);
        assert_eq!(Script::of('ह'), Script::Devanagari);
        assert_eq!(Script::of('ক'), Script::Bengali);
        assert_eq!(Script::of('ไ'), Script::Thai);
        assert_eq!(Script::of('한'), Script::Hangul);
        assert_eq!(Script::of('の'), Script::Kana);
        assert_eq!(Script::of('漢'), Script::Han);
        assert_eq!(Script::of('。'), Script::Common);
    }

    #[test]
    fn emoji_clusters_and_text_style_symbols() {
        for e in [
            "😂",
            "👍🏽",
            "👩\u{200D}💻",
            "🇩🇪",
            "1\u{FE0F}\u{20E3}",
            "❤\u{FE0F}",
            "⚡",
            "🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
        ] {
            assert!(is_emoji_cluster(e), "{e:?}");
        }
        for t in ["a", "1", "#", "❤", "©", "→", "☺\u{FE0E}", "😂\u{FE0E}"] {
            assert!(!is_emoji_cluster(t), "{t:?}");
        }
    }
}
