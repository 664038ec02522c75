//! Stylesheets and scripts, embedded in the binary (one file to deploy) and served with a
//! content hash in their URL, so browsers may cache them for a year. Each is compressed once,
//! at the best levels, when the server starts (`compress_all`), never per request.

use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::web::compression::{self, Effort, Encoding};

use crate::web::AppState;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "site.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../../static/site.css"),
    },
    Asset {
        name: "site.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../static/site.js"),
    },
    Asset {
        name: "editor.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../static/editor.js"),
    },
    Asset {
        name: "draft-upload.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../../static/draft-upload.js"),
    },
    Asset { name: "favicon.svg", content_type: "image/svg+xml", bytes: include_bytes!("../../../static/favicon.svg") },
];

/// Each asset's hash, computed once.
fn versions() -> &'static Vec<String> {
    static VERSIONS: OnceLock<Vec<String>> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        ASSETS.iter().map(|a| Sha256::digest(a.bytes).iter().take(6).map(|b| format!("{b:02x}")).collect()).collect()
    })
}

/// Every asset in every encoding (`Encoding::index`), made once.
fn encoded() -> &'static Vec<[Bytes; 4]> {
    static ENCODED: OnceLock<Vec<[Bytes; 4]>> = OnceLock::new();
    ENCODED.get_or_init(|| {
        ASSETS
            .iter()
            .map(|asset| {
                Encoding::ALL.map(|encoding| match encoding {
                    Encoding::Identity => Bytes::from_static(asset.bytes),
                    // The icon is tiny and an image: compressing it would not pay.
                    _ if !asset.content_type.starts_with("text/") => Bytes::from_static(asset.bytes),
                    _ => Bytes::from(compression::compress(asset.bytes, encoding, Effort::Once)),
                })
            })
            .collect()
    })
}

/// Compresses every asset now (about a tenth of a second on one core), so no request waits
/// for it: the server calls this on a blocking thread as it starts.
pub fn compress_all() {
    encoded();
}

/// The URL of an embedded asset, e.g. `/static/site.css?v=3fa2c1d0e9b8`.
pub fn url(name: &str) -> String {
    match ASSETS.iter().position(|a| a.name == name) {
        Some(i) => format!("/static/{name}?v={}", versions()[i]),
        None => format!("/static/{name}"),
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/static/{name}", get(serve))
}

async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let asset = &ASSETS[i];
    let compressible = asset.content_type.starts_with("text/");
    let encoding = if compressible { Encoding::negotiate(&headers) } else { Encoding::Identity };
    // A strong validator per representation: each encoding's bytes are their own.
    let etag = match encoding.token() {
        Some(token) => format!("\"{}-{token}\"", versions()[i]),
        None => format!("\"{}\"", versions()[i]),
    };
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v.as_bytes() == etag.as_bytes()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let bytes = encoded()[i][encoding.index()].clone();
    let mut response = (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CACHE_CONTROL, cache),
            (header::ETAG, etag),
        ],
        bytes.clone(),
    )
        .into_response();
    if compressible {
        compression::set_headers(response.headers_mut(), encoding, bytes.len());
    }
    response
}
