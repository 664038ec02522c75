//! Where a line may end: UAX #14 line-break opportunities (with a word dictionary for Thai,
//! which writes no spaces), grapheme clusters (a line never ends inside one) and hyphenation
//! points inside long words.

use hyphenation::{Hyphenator, Language, Load, Standard};
use icu_segmenter::options::LineBreakOptions;
use icu_segmenter::{GraphemeClusterSegmenter, LineSegmenter};
use std::sync::OnceLock;

/// Byte offsets of the grapheme cluster boundaries of `text`, 0 and `text.len()` included.
pub(crate) fn graphemes(text: &str) -> Vec<usize> {
    GraphemeClusterSegmenter::new().segment_str(text).collect()
}

/// Byte offsets after which a line may end (UAX #14), without 0, with `text.len()`.
pub(crate) fn line_breaks(text: &str) -> Vec<usize> {
    static SEGMENTER: OnceLock<icu_segmenter::LineSegmenterBorrowed<'static>> = OnceLock::new();
    let seg = SEGMENTER.get_or_init(|| LineSegmenter::new_dictionary(LineBreakOptions::default()));
    seg.segment_str(text).filter(|&b| b > 0).collect()
}

/// Hyphenation points (byte offsets into `word`, each between two letters) of one word, in
/// German when the paragraph has a letter only German uses, else in US English. Dictionaries
/// are loaded on first use, so start-up pays nothing for them.
pub(crate) fn hyphenation_points(word: &str, german: bool) -> Vec<usize> {
    static EN: OnceLock<Option<Standard>> = OnceLock::new();
    static DE: OnceLock<Option<Standard>> = OnceLock::new();
    const GERMAN: &[u8] = include_bytes!("../../../hyphenation/de-1996.standard.bincode");
    let dict = if german {
        DE.get_or_init(|| Standard::from_reader(Language::German1996, &mut &GERMAN[..]).ok())
    } else {
        EN.get_or_init(|| Standard::from_embedded(Language::EnglishUS).ok())
    };
    match dict {
        Some(d) => d.hyphenate(word).breaks,
        None => Vec::new(),
    }
}

/// Whether a paragraph reads as German, for the hyphenation dictionary.
pub(crate) fn looks_german(text: &str) -> bool {
    text.contains(['ä', 'ö', 'ü', 'ß', 'Ä', 'Ö', 'Ü', 'ẞ'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cjk_breaks_between_ideographs_and_thai_between_words() {
        assert_eq!(line_breaks("漢字です"), vec![3, 6, 9, 12]);
        assert_eq!(line_breaks("one two"), vec![4, 7]);
        // "สวัสดีครับ" is two words, "สวัสดี" (hello) and "ครับ" (polite particle).
        let thai = "สวัสดีครับ";
        assert_eq!(line_breaks(thai), vec!["สวัสดี".len(), thai.len()]);
    }

    #[test]
    fn graphemes_keep_emoji_sequences_and_marks_whole() {
        let t = "a👩\u{200D}💻e\u{301}🇩🇪";
        let g = graphemes(t);
        assert_eq!(g, vec![0, 1, 1 + "👩\u{200D}💻".len(), 1 + "👩\u{200D}💻".len() + 3, t.len()]);
    }

    #[test]
    fn both_dictionaries_load_and_hyphenate() {
        let de = hyphenation_points("Donaudampfschifffahrtsgesellschaft", true);
        assert!(de.len() >= 5, "{de:?}");
        assert!(de.contains(&"Donau".len()), "{de:?}");
        let en = hyphenation_points("hyphenation", false);
        assert!(!en.is_empty(), "{en:?}");
        // Case does not matter: captions are usually upper-cased.
        assert_eq!(hyphenation_points("HYPHENATION", false), en);
    }
}
