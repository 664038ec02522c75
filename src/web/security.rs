//! Security headers on every response.

use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use tower::util::MapResponseLayer;

use crate::config::Config;

/// The headers, built once at start-up. The content security policy allows scripts and styles
/// only from our own origin (no inline script anywhere), images also from the media CDN, and
/// scripts may send to where draft uploads go straight to storage (`upload_origin`: S3).
pub fn headers(config: &Config, upload_origin: Option<&str>) -> Vec<(HeaderName, HeaderValue)> {
    let media_origin = config.media_url.as_deref().map(|url| format!(" {}", origin_of(url))).unwrap_or_default();
    let upload_origin = upload_origin.map(|origin| format!(" {origin}")).unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:{media_origin}; \
         connect-src 'self'{upload_origin}; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    let mut headers = vec![
        ("content-security-policy", csp),
        ("x-content-type-options", "nosniff".to_owned()),
        ("referrer-policy", "strict-origin-when-cross-origin".to_owned()),
        ("x-frame-options", "DENY".to_owned()),
        ("cross-origin-opener-policy", "same-origin".to_owned()),
        ("permissions-policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()".to_owned()),
    ];
    if config.cookie_secure {
        // Only when served over HTTPS: HSTS over plain HTTP on a laptop would be ignored at
        // best and lock out http://127.0.0.1 at worst.
        headers.push(("strict-transport-security", "max-age=63072000; includeSubDomains".to_owned()));
    }
    headers
        .into_iter()
        .filter_map(|(name, value)| Some((HeaderName::from_static(name), HeaderValue::from_str(value.trim()).ok()?)))
        .collect()
}

/// One layer that adds each header a response does not set itself (one layer per header was
/// seven nested futures on every response).
pub fn layer(
    config: &Config,
    upload_origin: Option<&str>,
) -> MapResponseLayer<impl Fn(Response) -> Response + Clone + use<>> {
    let headers: Arc<[(HeaderName, HeaderValue)]> = headers(config, upload_origin).into();
    MapResponseLayer::new(move |mut response: Response| {
        let present = response.headers_mut();
        for (name, value) in headers.iter() {
            if !present.contains_key(name) {
                present.insert(name.clone(), value.clone());
            }
        }
        response
    })
}

/// "https://d123.cloudfront.net/media" → "https://d123.cloudfront.net".
fn origin_of(url: &str) -> String {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(slash) => url[..after_scheme + slash].to_owned(),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn media_origin_drops_the_path() {
        assert_eq!(super::origin_of("https://cdn.example.com/media/x"), "https://cdn.example.com");
        assert_eq!(super::origin_of("https://cdn.example.com"), "https://cdn.example.com");
    }
}
