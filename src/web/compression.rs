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

use super::layout::SplicedPage;

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

/// How hard to compress: what the bytes are for. (`cargo bench --bench compression` times each
/// on a real home page: BENCHMARKS.md.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    /// Made for one response: fast levels (brotli 2, zstd 3, gzip 1), tens of microseconds.
    PerResponse,
    /// Kept and sent many times (a cached page or fragment): brotli 4, zstd 9, gzip 6, about a
    /// tenth of a millisecond. (This brotli takes 40 times as long from quality 5 on.)
    Cached,
    /// Compressed once for the life of the process (static files): the best levels.
    Once,
}

/// The brotli window of everything we make: 64 KiB, more than a page, and what lets a kept
/// fragment be spliced into a page's stream (`splice`).
const BROTLI_WINDOW_BITS: i32 = 16;

fn brotli_params(quality: i32, size: usize) -> brotli::enc::BrotliEncoderParams {
    brotli::enc::BrotliEncoderParams { quality, lgwin: BROTLI_WINDOW_BITS, size_hint: size, ..Default::default() }
}

fn brotli_quality(effort: Effort) -> i32 {
    match effort {
        Effort::PerResponse => 2,
        Effort::Cached => 4,
        Effort::Once => 11,
    }
}

/// `bytes` in `encoding` (identity: a copy).
pub fn compress(bytes: &[u8], encoding: Encoding, effort: Effort) -> Vec<u8> {
    use std::io::Write as _;
    let capacity = bytes.len() / 3 + 64;
    match encoding {
        Encoding::Identity => bytes.to_vec(),
        Encoding::Brotli => {
            let mut out = Vec::with_capacity(capacity);
            // Writing into a Vec cannot fail.
            let _ =
                brotli::BrotliCompress(&mut &bytes[..], &mut out, &brotli_params(brotli_quality(effort), bytes.len()));
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
                Effort::PerResponse => 1,
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

/// A piece of a page kept for many responses (`page_cache::Fragment`), compressed so that it can
/// be spliced between parts made per request (`splice`): brotli that refers to nothing before
/// itself ("catable"), or a zstd frame of its own. None for the encodings that are not spliced.
pub fn compress_spliceable(bytes: &[u8], encoding: Encoding) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Brotli => {
            let mut params = brotli_params(brotli_quality(Effort::Cached), bytes.len());
            params.catable = true;
            params.use_dictionary = false;
            let mut out = Vec::with_capacity(bytes.len() / 3 + 64);
            let _ = brotli::BrotliCompress(&mut &bytes[..], &mut out, &params);
            Some(out)
        }
        Encoding::Zstd => Some(compress(bytes, Encoding::Zstd, Effort::Cached)),
        Encoding::Gzip | Encoding::Identity => None,
    }
}

/// `before` + the kept piece + `after` in `encoding` (brotli or zstd), without compressing the
/// piece again: `middle` is its `compress_spliceable` form, and the parts made per request (a
/// page's header, its footer: a few hundred bytes to a couple of kilobytes) go as stored blocks
/// of the format, which cost a copy. None for the other encodings, or if brotli refuses the
/// join (it does not, for streams made here).
pub fn splice(encoding: Encoding, before: &[u8], middle: &[u8], after: &[u8]) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Brotli => {
            let streams = [stored_brotli(before), middle.to_vec(), stored_brotli(after)];
            let mut out = vec![0u8; streams.iter().map(Vec::len).sum::<usize>() + 16];
            let mut joined = 0;
            let mut join = brotli::concat::BroCatli::new_with_window_size(BROTLI_WINDOW_BITS as u8);
            for stream in &streams {
                join.new_brotli_file();
                let mut read = 0;
                let result = join.stream(stream, &mut read, &mut out, &mut joined);
                if !matches!(result, brotli::concat::BroCatliResult::NeedsMoreInput) || read != stream.len() {
                    return None;
                }
            }
            if join.finish(&mut out, &mut joined) != brotli::concat::BroCatliResult::Success {
                return None;
            }
            out.truncate(joined);
            Some(out)
        }
        Encoding::Zstd => {
            // A zstd stream is one or more frames, each decoded in turn.
            let mut out = stored_zstd(before);
            out.extend_from_slice(middle);
            out.extend_from_slice(&stored_zstd(after));
            Some(out)
        }
        Encoding::Gzip | Encoding::Identity => None,
    }
}

/// A brotli stream (RFC 7932) of `bytes` as uncompressed meta-blocks: a 64 KiB window (the
/// single header bit 0), then per 64 KiB chunk ISLAST=0, MNIBBLES=4, MLEN-1 in 16 bits and
/// ISUNCOMPRESSED=1, padded to the byte, and the chunk; then ISLAST=1, ISLASTEMPTY=1. Its blocks
/// are byte aligned and refer to nothing, so `BroCatli` joins it to others.
fn stored_brotli(bytes: &[u8]) -> Vec<u8> {
    const CHUNK: usize = 1 << 16;
    let mut out = Vec::with_capacity(bytes.len() + 3 * (bytes.len() / CHUNK + 1) + 1);
    for (i, chunk) in bytes.chunks(CHUNK).enumerate() {
        // Bits, least significant first; the stream's own header bit only before the first.
        let (header, bits) = ((chunk.len() as u32 - 1) << 3 | 1 << 19, 20);
        let (header, bits) = if i == 0 { (header << 1, bits + 1) } else { (header, bits) };
        debug_assert!(bits <= 24);
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(chunk);
    }
    if bytes.is_empty() {
        // The header bit (0: a 64 KiB window), then ISLAST and ISLASTEMPTY.
        out.push(0b110);
    } else {
        out.push(0b11);
    }
    out
}

/// A zstd frame (RFC 8878) of `bytes` as raw blocks: the magic number, a descriptor for a
/// single segment with a 4-byte content size, then blocks of at most 128 KiB.
fn stored_zstd(bytes: &[u8]) -> Vec<u8> {
    const CHUNK: usize = 128 * 1024;
    let mut out = Vec::with_capacity(bytes.len() + 9 + 3 * (bytes.len() / CHUNK + 1));
    out.extend_from_slice(&0xFD2F_B528u32.to_le_bytes());
    out.push(0b1010_0000); // content size in 4 bytes, single segment, no checksum, no dictionary
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    let mut chunks = bytes.chunks(CHUNK).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&1u32.to_le_bytes()[..3]); // an empty last raw block
    }
    while let Some(chunk) = chunks.next() {
        let last = u32::from(chunks.peek().is_none());
        let header = last | (chunk.len() as u32) << 3; // block type 0: raw
        out.extend_from_slice(&header.to_le_bytes()[..3]);
        out.extend_from_slice(chunk);
    }
    out
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
    if let Some(page) = parts.extensions.remove::<SplicedPage>()
        && let Some(middle) = page.fragment.spliceable(encoding)
        && let Some(spliced) = splice(encoding, &page.before, middle, &page.after)
    {
        set_headers(&mut parts.headers, encoding, spliced.len());
        return Response::from_parts(parts, Body::from(spliced));
    }
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

    fn unbrotli(bytes: &[u8]) -> Vec<u8> {
        use std::io::Read as _;
        let mut out = Vec::new();
        brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn stored_streams_decode_to_their_bytes_at_every_size() {
        for size in [0, 1, 2, 255, 256, 65535, 65536, 65537, 200_000] {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            assert_eq!(unbrotli(&stored_brotli(&bytes)), bytes, "brotli, {size} bytes");
            assert_eq!(zstd::decode_all(&stored_zstd(&bytes)[..]).unwrap(), bytes, "zstd, {size} bytes");
        }
    }

    #[test]
    fn a_kept_piece_spliced_between_parts_made_now_decodes_to_the_whole_page() {
        let before = "<!doctype html><header>Signed in as <strong>ann</strong></header><main>".repeat(20);
        let middle = "<li class=\"meme-card\"><a href=\"/memes/01abc\">a meme</a></li>\n".repeat(300);
        let after = "</main><footer>Sky-High Memes</footer></body></html>";
        let whole = [before.as_str(), middle.as_str(), after].concat();
        for encoding in [Encoding::Brotli, Encoding::Zstd] {
            let kept = compress_spliceable(middle.as_bytes(), encoding).unwrap();
            let spliced = splice(encoding, before.as_bytes(), &kept, after.as_bytes()).unwrap();
            let decoded = match encoding {
                Encoding::Brotli => unbrotli(&spliced),
                _ => zstd::decode_all(&spliced[..]).unwrap(),
            };
            assert_eq!(String::from_utf8(decoded).unwrap(), whole, "{encoding:?}");
            assert!(
                spliced.len() < before.len() + kept.len() + after.len() + 32,
                "the parts are stored, the piece kept"
            );
            // Empty parts around the piece, and an empty piece.
            let alone = splice(encoding, b"", &kept, b"").unwrap();
            let decoded =
                if encoding == Encoding::Brotli { unbrotli(&alone) } else { zstd::decode_all(&alone[..]).unwrap() };
            assert_eq!(decoded, middle.as_bytes());
            let nothing = compress_spliceable(b"", encoding).unwrap();
            let around = splice(encoding, b"a", &nothing, b"b").unwrap();
            let decoded =
                if encoding == Encoding::Brotli { unbrotli(&around) } else { zstd::decode_all(&around[..]).unwrap() };
            assert_eq!(decoded, b"ab");
        }
        assert!(splice(Encoding::Gzip, b"a", b"", b"b").is_none());
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
