//! Media keys.

/// A media key: 1–200 characters of `a-z 0-9 . _ -` in `/`-separated segments, none of them
/// empty, `.` or `..`. Being this strict makes a key safe as a file path and as an S3 key alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(key: &str) -> Option<Self> {
        let charset_ok =
            key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-' | b'/'));
        let segments_ok = key.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..");
        (charset_ok && segments_ok && (1..=200).contains(&key.len())).then(|| Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for BlobKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
