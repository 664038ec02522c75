//! Memes by URL, compatible with memegen's scheme: `/i/{template}/{line1}/…/{lineN}.{ext}`
//! (and memegen's own `/images/…`). The URL is the content, so a rendered answer is cached in
//! process by its canonical form and served again without drawing.

use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::Context;
use super::ServiceError;
use super::pictures;
use super::requests::PictureChoice;
use crate::render::{
    DISPLAY_MAX, FontChoice, HitCounts, MAX_BOXES, MAX_TEXT_CHARS, MemeSpec, OutputFormat, Rgb, TextBox,
};

/// A meme described by its URL, parsed: also the cache's key (two URLs that decode the same,
/// `%20` against `_` say, are one image).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UrlMeme {
    pub template: String,
    pub lines: Vec<String>,
    pub format: OutputFormat,
    pub options: UrlOptions,
}

/// The query options memegen clients send.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct UrlOptions {
    pub font: Option<FontChoice>,
    /// `layout=top`: every line at the top, one under another.
    pub top: bool,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fill: Option<Rgb>,
    pub outline: Option<Rgb>,
}

/// Why a URL describes no meme: a 404 for a path that is no meme URL, a 422 otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("{0}")]
    NotAMemeUrl(String),
    #[error("{0}")]
    Invalid(String),
}

/// Decodes one line with memegen's escapes, exactly: `_` and `-` are spaces, `__` is `_`,
/// `--` is `-`, `~n` a newline, `~q ~a ~p ~h ~s ~b ~l ~g` are `? & % # / \ < >`, `''` is `"`,
/// and `_` alone is an empty line. A `~` before anything else stays a `~`.
pub fn decode_line(segment: &str) -> String {
    if segment == "_" {
        return String::new();
    }
    let mut out = String::with_capacity(segment.len());
    let mut chars = segment.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let pair = |decoded: char| (decoded, true);
        let (decoded, takes_next) = match (c, next) {
            ('_', Some('_')) => pair('_'),
            ('-', Some('-')) => pair('-'),
            ('\'', Some('\'')) => pair('"'),
            ('_' | '-', _) => (' ', false),
            ('~', Some(e)) => match escape(e) {
                Some(decoded) => pair(decoded),
                None => ('~', false),
            },
            (c, _) => (c, false),
        };
        if takes_next {
            chars.next();
        }
        out.push(decoded);
    }
    out
}

fn escape(e: char) -> Option<char> {
    Some(match e {
        'n' => '\n',
        'q' => '?',
        'a' => '&',
        'p' => '%',
        'h' => '#',
        's' => '/',
        'b' => '\\',
        'l' => '<',
        'g' => '>',
        _ => return None,
    })
}

/// Encodes text as a line of a meme URL (the inverse of [`decode_line`]), for the `/i/` links
/// the site shows.
pub fn encode_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    push_line(&mut out, text);
    out
}

/// `encode_line`, appended to `out`.
fn push_line(out: &mut String, text: &str) {
    if text.is_empty() {
        out.push('_');
        return;
    }
    for c in text.chars() {
        match c {
            ' ' => out.push('_'),
            '_' => out.push_str("__"),
            '-' => out.push_str("--"),
            '\n' => out.push_str("~n"),
            '?' => out.push_str("~q"),
            '&' => out.push_str("~a"),
            '%' => out.push_str("~p"),
            '#' => out.push_str("~h"),
            '/' => out.push_str("~s"),
            '\\' => out.push_str("~b"),
            '<' => out.push_str("~l"),
            '>' => out.push_str("~g"),
            '"' => out.push_str("''"),
            c if c.is_control() => {}
            c => {
                // The rest is percent-encoded where a path needs it (non-ASCII, reserved).
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    if b.is_ascii_alphanumeric() || b".~!$'()*+,;=:@".contains(&b) {
                        out.push(b as char);
                    } else {
                        const HEX: &[u8; 16] = b"0123456789ABCDEF";
                        out.extend(['%', HEX[usize::from(b >> 4)] as char, HEX[usize::from(b & 15)] as char]);
                    }
                }
            }
        }
    }
}

/// The `/i/` URL of a meme drawn on `template` with `captions` (JPEG, default options).
pub fn url_of(template: &str, captions: &[String]) -> String {
    let mut url = String::new();
    push_url_of(&mut url, template, captions);
    url
}

/// `url_of`, appended to `url` (after a base URL, say).
pub fn push_url_of(url: &mut String, template: &str, captions: &[String]) {
    url.reserve(template.len() + captions.iter().map(|c| c.len() + 2).sum::<usize>() + 8);
    // Template ids are plain ([a-z0-9-]): they are not lines and take no escapes.
    url.push_str("/i/");
    url.push_str(template);
    for caption in captions {
        url.push('/');
        push_line(url, caption);
    }
    url.push_str(".jpg");
}

/// The `/i/` link of a saved meme drawn on a template (shown so people can share it).
pub fn url_of_meme(meme: &crate::domain::Meme) -> Option<String> {
    meme.template_id().map(|t| url_of(t, &meme.captions))
}

impl UrlMeme {
    /// Parses the path after `/i/` (already percent-decoded): `template/line/…/line.ext`.
    pub fn parse(path: &str, options: UrlOptions) -> Result<Self, UrlError> {
        let no_extension = || {
            UrlError::NotAMemeUrl(
                "A meme URL ends in .jpg, .png, .webp or .gif, like /i/chelsea/top/bottom.jpg.".into(),
            )
        };
        let (rest, ext) = path.rsplit_once('.').ok_or_else(no_extension)?;
        if ext.contains('/') {
            return Err(no_extension());
        }
        let format = OutputFormat::from_extension(ext).ok_or_else(no_extension)?;
        let mut segments = rest.split('/');
        let template = segments.next().filter(|t| !t.is_empty()).ok_or_else(no_extension)?.to_owned();
        let lines: Vec<String> = segments.map(decode_line).collect();
        if lines.len() > MAX_BOXES {
            return Err(UrlError::Invalid(format!("A meme can have at most {MAX_BOXES} lines.")));
        }
        if let Some(i) = lines.iter().position(|l| l.chars().count() > MAX_TEXT_CHARS) {
            return Err(UrlError::Invalid(format!("Line {} is longer than {MAX_TEXT_CHARS} characters.", i + 1)));
        }
        for (name, value) in [("width", options.width), ("height", options.height)] {
            if let Some(v) = value
                && !(16..=DISPLAY_MAX).contains(&v)
            {
                return Err(UrlError::Invalid(format!("{name} must be between 16 and {DISPLAY_MAX} pixels.")));
            }
        }
        Ok(Self { template, lines, format, options })
    }

    /// About what the meme takes as a cache key, for the cache's byte bound.
    fn key_bytes(&self) -> usize {
        self.template.len() + self.lines.iter().map(|l| l.len() + 24).sum::<usize>() + 64
    }

    fn spec(&self, base: MemeSpec) -> MemeSpec {
        let mut spec = base;
        if self.options.top {
            let n = self.lines.len().max(1) as f32;
            let h = (0.9 / n).min(0.25);
            spec.boxes = self
                .lines
                .iter()
                .enumerate()
                .map(|(i, line)| TextBox {
                    valign: crate::render::VAlign::Top,
                    ..TextBox::at(line.as_str(), 0.02, 0.02 + i as f32 * h, 0.96, h)
                })
                .collect();
        }
        for b in &mut spec.boxes {
            if let Some(font) = self.options.font {
                b.font = font;
            }
            if let Some(fill) = self.options.fill {
                b.fill = fill;
            }
            if let Some(outline) = self.options.outline {
                b.outline = outline;
            }
        }
        spec
    }
}

/// A rendered meme URL, ready to send again.
#[derive(Debug)]
pub struct UrlImage {
    pub bytes: Bytes,
    pub mime: &'static str,
    /// A strong validator: a hash of the bytes, quoted.
    pub etag: String,
}

/// Rendered meme URLs, bounded by their bytes. A popular URL is drawn once per instance;
/// concurrent first requests for one URL wait for the same render.
#[derive(Clone)]
pub struct UrlCache(moka::future::Cache<UrlMeme, Arc<UrlImage>>, Arc<HitCounts>);

impl UrlCache {
    pub fn new(max_bytes: u64) -> Self {
        Self(
            moka::future::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|key: &UrlMeme, image: &Arc<UrlImage>| {
                    u32::try_from(key.key_bytes() + image.bytes.len() + 128).unwrap_or(u32::MAX)
                })
                .build(),
            Arc::default(),
        )
    }

    /// The image for this URL if it is drawn already (the per-address render limit applies
    /// only when it is not).
    pub async fn cached(&self, meme: &UrlMeme) -> Option<Arc<UrlImage>> {
        let found = self.0.get(meme).await;
        if found.is_some() {
            self.1.hit()
        } else {
            self.1.miss()
        }
        found
    }

    /// Lookups answered from the cache and not, since start-up.
    pub fn report(&self) -> crate::render::CacheReport {
        self.1.report("memes_by_url")
    }
}

/// The image of a meme URL: from the cache, or drawn now.
pub async fn render(cx: Context<'_>, cache: &UrlCache, meme: UrlMeme) -> Result<Arc<UrlImage>, ServiceError> {
    cache.0.try_get_with_by_ref(&meme, draw(cx, &meme)).await.map_err(|e: Arc<ServiceError>| match &*e {
        ServiceError::BadInput(m) => ServiceError::BadInput(m.clone()),
        ServiceError::NotFound => ServiceError::NotFound,
        ServiceError::Forbidden(m) => ServiceError::Forbidden(m.clone()),
        other => ServiceError::Internal(anyhow::anyhow!("{other}")),
    })
}

async fn draw(cx: Context<'_>, meme: &UrlMeme) -> Result<Arc<UrlImage>, ServiceError> {
    let choice = PictureChoice::Template(meme.template.clone());
    let resolved = pictures::resolve(cx.storage, &choice, &meme.lines).await.map_err(|e| match e {
        // An unknown template is no meme at this URL.
        ServiceError::BadInput(_) => ServiceError::NotFound,
        other => other,
    })?;
    let spec = meme.spec(resolved.base);
    let fit = match (meme.options.width, meme.options.height) {
        (Some(w), Some(h)) => (w, h),
        (Some(w), None) => (w, DISPLAY_MAX),
        (None, Some(h)) => (DISPLAY_MAX, h),
        (None, None) => (DISPLAY_MAX, DISPLAY_MAX),
    };
    let encoded = cx.renderer.render_sized(&resolved.picture, &spec, fit, meme.format).await?;
    let digest = Sha256::digest(&encoded.bytes);
    let etag = format!("\"{}\"", digest[..16].iter().map(|b| format!("{b:02x}")).collect::<String>());
    Ok(Arc::new(UrlImage { bytes: Bytes::from(encoded.bytes), mime: encoded.mime, etag }))
}

/// memegen's colour names for `color=`, beside `#rrggbb` and `rrggbb`.
pub fn parse_colour(text: &str) -> Option<Rgb> {
    let named = match text.trim().to_ascii_lowercase().as_str() {
        "white" => Some([255, 255, 255]),
        "black" => Some([0, 0, 0]),
        "red" => Some([255, 0, 0]),
        "green" => Some([0, 128, 0]),
        "lime" => Some([0, 255, 0]),
        "blue" => Some([0, 0, 255]),
        "yellow" => Some([255, 255, 0]),
        "orange" => Some([255, 165, 0]),
        "purple" => Some([128, 0, 128]),
        "pink" => Some([255, 192, 203]),
        "gray" | "grey" => Some([128, 128, 128]),
        "cyan" | "aqua" => Some([0, 255, 255]),
        "magenta" | "fuchsia" => Some([255, 0, 255]),
        "brown" => Some([165, 42, 42]),
        _ => None,
    };
    named.map(Rgb).or_else(|| text.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_memegen_escape_decodes_exactly() {
        for (line, text) in [
            ("hello_world", "hello world"),
            ("hello-world", "hello world"),
            ("snake__case", "snake_case"),
            ("kebab--case", "kebab-case"),
            ("two~nlines", "two\nlines"),
            ("why~q", "why?"),
            ("this~athat", "this&that"),
            ("100~p", "100%"),
            ("~hhashtag", "#hashtag"),
            ("and~sor", "and/or"),
            ("back~bslash", "back\\slash"),
            ("~lhtml~g", "<html>"),
            ("''quoted''", "\"quoted\""),
            ("_", ""),
            ("__", "_"),
            ("~x~", "~x~"),
            ("a___b", "a_ b"),
            ("sp_~s_it", "sp / it"),
        ] {
            assert_eq!(decode_line(line), text, "{line}");
        }
    }

    #[test]
    fn encoding_a_line_decodes_back_to_it() {
        for text in ["", "top text", "a_b-c", "why? & 100% #1 / \\ <b> \"q\"", "two\nlines", "ünïcödé 🐱", "~tilde"]
        {
            let encoded = encode_line(text);
            let decoded_path = percent_decode(&encoded);
            assert_eq!(decode_line(&decoded_path), text, "{text:?} → {encoded}");
        }
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn paths_parse_into_template_lines_and_format() {
        let meme = UrlMeme::parse("chelsea/top_text/_/bottom.text.png", UrlOptions::default()).unwrap();
        assert_eq!(meme.template, "chelsea");
        assert_eq!(meme.lines, ["top text", "", "bottom.text"]);
        assert_eq!(meme.format, OutputFormat::Png);
        let bare = UrlMeme::parse("chelsea.gif", UrlOptions::default()).unwrap();
        assert!(bare.lines.is_empty());
        for bad in ["chelsea/top", "chelsea/top.bmp", ".jpg", "chelsea.jpg/x"] {
            assert!(matches!(UrlMeme::parse(bad, UrlOptions::default()), Err(UrlError::NotAMemeUrl(_))), "{bad}");
        }
        let wide = UrlOptions { width: Some(5000), ..Default::default() };
        assert!(matches!(UrlMeme::parse("chelsea/a.jpg", wide), Err(UrlError::Invalid(_))));
    }

    #[test]
    fn colours_by_name_or_hex() {
        assert_eq!(parse_colour("white"), Some(Rgb([255, 255, 255])));
        assert_eq!(parse_colour("ff0000"), Some(Rgb([255, 0, 0])));
        assert_eq!(parse_colour("#00ff00"), Some(Rgb([0, 255, 0])));
        assert_eq!(parse_colour("nope"), None);
    }
}
