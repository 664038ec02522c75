//! Compressed responses: the encoding a client asks for (brotli, zstd, gzip, in that order of
//! preference at equal weight), and the compressing itself.
//!
//! Three callers, three costs:
//! - pages and API answers made per request are compressed as they leave
//!   (`compress_responses`), at levels that cost tens of microseconds, not milliseconds;
//! - cached anonymous pages (`page_cache`) are compressed once per encoding when first asked for,
//!   a little harder, and served as stored bytes after that;
//! - the embedded static files are compressed once, hardest, when the server starts.
//!
//! Images are never compressed again: they are compressed formats already. SVG is text, so it is.

use axum::body::{Body, HttpBody as _};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Bodies smaller than this go as they are: the frame would cost more than it saves.
const MIN_SIZE: usize = 512;
/// Bodies larger than this are not gathered into memory to be compressed on the fly (no page
/// comes near it; an API answer that did would be streamed as it is).
const MAX_SIZE: usize = 4 * 1024 * 1024;

/// A content coding we send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Brotli,
    Zstd,
    Gzip,
    Identity,
}

impl Encoding {
    /// Every coding, the one kept per cached page first.
    pub const ALL: [Encoding; 4] = [Encoding::Identity, Encoding::Brotli, Encoding::Zstd, Encoding::Gzip];

    /// The `Content-Encoding` token, None for identity.
    pub fn token(self) -> Option<&'static str> {
        match self {
            Encoding::Brotli => Some("br"),
            Encoding::Zstd => Some("zstd"),
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        }
    }

    pub fn index(self) -> usize {
        match self {
            Encoding::Identity => 0,
            Encoding::Brotli => 1,
            Encoding::Zstd => 2,
            Encoding::Gzip => 3,
        }
    }

    /// What the client's `Accept-Encoding` allows, best first: the highest weight, brotli
    /// before zstd before gzip among equals (brotli makes the smallest HTML; zstd is for
    /// clients that ask for it alone). Identity unless something else is acceptable.
    pub fn negotiate(headers: &HeaderMap) -> Encoding {
        let mut best = (0u16, Encoding::Identity);
        for value in headers.get_all(header::ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let name = parts.next().unwrap_or("").trim();
                let weight = parts.find_map(|p| p.trim().strip_prefix("q=")).map_or(1000, parse_weight);
                let coding = match name {
                    n if n.eq_ignore_ascii_case("br") => Encoding::Brotli,
                    n if n.eq_ignore_ascii_case("zstd") => Encoding::Zstd,
                    n if n.eq_ignore_ascii_case("gzip") || n.eq_ignore_ascii_case("x-gzip") => Encoding::Gzip,
                    _ => continue,
                };
                let better = weight > best.0 || (weight == best.0 && weight > 0 && coding.rank() < best.1.rank());
                if weight > 0 && better {
                    best = (weight, coding);
                }
            }
        }
        best.1
    }

    fn rank(self) -> u8 {
        match self {
            Encoding::Brotli => 0,
            Encoding::Zstd => 1,
            Encoding::Gzip => 2,
            Encoding::Identity => 3,
        }
    }
}

/// "0.8" → 800, "1" → 1000; anything unreadable counts as 0 (not acceptable).
fn parse_weight(text: &str) -> u16 {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let whole: u16 = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return 0,
    };
    let digits: String = fraction.chars().take(3).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return 0;
    }
    let fraction: u16 = format!("{digits:0<3}").parse().unwrap_or(0);
    (whole + fraction).min(1000)
}

/// How hard to compress: what the bytes are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// Made for one response: fast levels (brotli 4, zstd 3, gzip 5).
    PerResponse,
    /// Kept and sent many times (a cached page): brotli 6, zstd 9, gzip 6.
    Cached,
    /// Compressed once for the life of the process (static files): the best levels.
    Once,
}

/// `bytes` in `encoding` (identity: a copy).
pub fn compress(bytes: &[u8], encoding: Encoding, effort: Effort) -> Vec<u8> {
    use std::io::Write as _;
    let capacity = bytes.len() / 3 + 64;
    match encoding {
        Encoding::Identity => bytes.to_vec(),
        Encoding::Brotli => {
            let quality = match effort {
                Effort::PerResponse => 4,
                Effort::Cached => 6,
                Effort::Once => 11,
            };
            let params = brotli::enc::BrotliEncoderParams {
                quality,
                // A 64 KiB window: pages are smaller, and a smaller window is cheaper to set up.
                lgwin: 16,
                size_hint: bytes.len(),
                ..Default::default()
            };
            let mut out = Vec::with_capacity(capacity);
            // Writing into a Vec cannot fail.
            let _ = brotli::BrotliCompress(&mut &bytes[..], &mut out, &params);
            out
        }
        Encoding::Zstd => {
            let level = match effort {
                Effort::PerResponse => 3,
                Effort::Cached => 9,
                Effort::Once => 19,
            };
            zstd::bulk::compress(bytes, level).unwrap_or_else(|_| bytes.to_vec())
        }
        Encoding::Gzip => {
            let level = match effort {
                Effort::PerResponse => 5,
                Effort::Cached => 6,
                Effort::Once => 9,
            };
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::with_capacity(capacity), flate2::Compression::new(level));
            let _ = encoder.write_all(bytes);
            encoder.finish().unwrap_or_default()
        }
    }
}

/// Whether responses of this type are text worth compressing: HTML, CSS, JavaScript, JSON,
/// Atom and other XML, SVG. Never images, audio or video, which are compressed already.
pub fn is_compressible(content_type: Option<&HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else { return false };
    let mime = value.split(';').next().unwrap_or("").trim();
    mime.starts_with("text/")
        || matches!(
            mime,
            "application/json"
                | "application/problem+json"
                | "application/atom+xml"
                | "application/xml"
                | "application/javascript"
                | "image/svg+xml"
        )
}

/// Sets `Content-Encoding` (unless identity), `Vary: Accept-Encoding` and the length.
pub fn set_headers(headers: &mut HeaderMap, encoding: Encoding, length: usize) {
    if let Some(token) = encoding.token() {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
    }
    vary_on_encoding(headers);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
}

/// Adds `Accept-Encoding` to `Vary` once.
pub fn vary_on_encoding(headers: &mut HeaderMap) {
    let present = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding"));
    if !present {
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// Middleware: compresses a text response made for this request, in the encoding the client
/// prefers. Responses already encoded (cached pages, static files), images, tiny bodies and
/// streamed ones of unknown length pass as they are.
pub async fn compress_responses(request: Request, next: Next) -> Response {
    let encoding = Encoding::negotiate(request.headers());
    let response = next.run(request).await;
    if !is_compressible(response.headers().get(header::CONTENT_TYPE))
        || response.headers().contains_key(header::CONTENT_ENCODING)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    vary_on_encoding(&mut parts.headers);
    let size = body.size_hint().exact().and_then(|n| usize::try_from(n).ok());
    let worth_it = size.is_some_and(|n| (MIN_SIZE..=MAX_SIZE).contains(&n));
    if encoding == Encoding::Identity || !worth_it {
        return Response::from_parts(parts, body);
    }
    let bytes = match axum::body::to_bytes(body, MAX_SIZE).await {
        Ok(bytes) => bytes,
        Err(e) => {
            // Our handlers' bodies are whole in memory, so this does not happen; if it did,
            // what was read is gone, and the client is told the truth.
            tracing::error!(error = %e, "a response body failed while being compressed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let compressed = compress(&bytes, encoding, Effort::PerResponse);
    // A strong validator names one representation: the encoded one is another.
    if let Some(etag) = parts.headers.get(header::ETAG).and_then(|v| v.to_str().ok()) {
        let tagged = format!("{}-{}\"", etag.trim_end_matches('"'), encoding.token().unwrap_or(""));
        if let Ok(value) = HeaderValue::from_str(&tagged) {
            parts.headers.insert(header::ETAG, value);
        }
    }
    set_headers(&mut parts.headers, encoding, compressed.len());
    Response::from_parts(parts, Body::from(compressed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_client_chooses_and_brotli_wins_ties() {
        assert_eq!(Encoding::negotiate(&HeaderMap::new()), Encoding::Identity);
        assert_eq!(Encoding::negotiate(&accepting("gzip, deflate, br, zstd")), Encoding::Brotli);
        assert_eq!(Encoding::negotiate(&accepting("gzip, zstd")), Encoding::Zstd);
        assert_eq!(Encoding::negotiate(&accepting("gzip;q=1.0, br;q=0.5")), Encoding::Gzip);
        assert_eq!(Encoding::negotiate(&accepting("br;q=0, gzip")), Encoding::Gzip, "q=0 refuses");
        assert_eq!(Encoding::negotiate(&accepting("identity, deflate")), Encoding::Identity);
        assert_eq!(Encoding::negotiate(&accepting("BR")), Encoding::Brotli);
        assert_eq!(Encoding::negotiate(&accepting("br;q=banana, gzip;q=0.1")), Encoding::Gzip);
    }

    #[test]
    fn weights_read_as_thousandths() {
        assert_eq!(parse_weight("1"), 1000);
        assert_eq!(parse_weight("1.000"), 1000);
        assert_eq!(parse_weight("0.5"), 500);
        assert_eq!(parse_weight("0.123"), 123);
        assert_eq!(parse_weight("0"), 0);
        assert_eq!(parse_weight("2"), 0);
        assert_eq!(parse_weight("0.x"), 0);
    }

    #[test]
    fn each_encoding_round_trips() {
        use std::io::Read as _;
        let page = "<li class=\"meme-card\"><a href=\"/memes/01abc\">a meme</a></li>\n".repeat(200);
        for effort in [Effort::PerResponse, Effort::Cached, Effort::Once] {
            let br = compress(page.as_bytes(), Encoding::Brotli, effort);
            let mut back = Vec::new();
            brotli::Decompressor::new(&br[..], 4096).read_to_end(&mut back).unwrap();
            assert_eq!(back, page.as_bytes());
            assert!(br.len() * 10 < page.len(), "{} of {}", br.len(), page.len());

            let gz = compress(page.as_bytes(), Encoding::Gzip, effort);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut back).unwrap();
            assert_eq!(back, page.as_bytes());

            let zst = compress(page.as_bytes(), Encoding::Zstd, effort);
            assert_eq!(zstd::bulk::decompress(&zst, page.len()).unwrap(), page.as_bytes());
        }
    }

    #[test]
    fn text_is_compressed_and_images_are_not() {
        for text in
            ["text/html; charset=utf-8", "text/css", "application/json", "application/atom+xml", "image/svg+xml"]
        {
            assert!(is_compressible(Some(&HeaderValue::from_static(text))), "{text}");
        }
        for binary in ["image/jpeg", "image/png", "image/webp", "image/gif", "application/octet-stream"] {
            assert!(!is_compressible(Some(&HeaderValue::from_static(binary))), "{binary}");
        }
        assert!(!is_compressible(None));
    }
}
