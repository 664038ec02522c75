//! Anonymous views of the busiest pages (`/`, `/?sort=top`, portfolios, meme pages, the
//! template gallery and the Atom feeds), kept rendered and compressed, so that most visitors
//! cost what a static file costs.
//!
//! - **What is kept.** A page is kept only for a visitor with no session cookie, only with a
//!   200, and only if it holds nothing of that visitor's: no CSRF token was minted for it (see
//!   `csrf`) and it sets no cookie. Entries are keyed by path and query; each holds the page's
//!   bytes, its compressed forms (made the first time an encoding is asked for) and a strong
//!   ETag per encoding. The cache is bounded by bytes.
//! - **Freshness.** A generation counter is bumped by every write the site takes (any
//!   successful POST, and the few GET links that change something); an entry made in an older
//!   generation is never served. The generation is read before a page is rendered, so a write
//!   that lands during the render makes that page stale at once: on the local backend a write
//!   is visible on the very next request. On aws another instance's writes do not reach this
//!   counter, so entries also expire after a second there, and the pages carry
//!   `Cache-Control: public, max-age=0, s-maxage=1` for CloudFront.
//! - `If-None-Match` with the current ETag gets a 304.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::AppState;
use super::compression::{self, Effort, Encoding};
use super::views::ShareImage;
use crate::render::{CacheReport, HitCounts};

/// The routes whose anonymous views are kept (route templates, as the router names them).
const CACHED_ROUTES: [&str; 5] = ["/", "/u/{username}", "/u/{username}/feed.atom", "/memes/{id}", "/templates"];
/// Links that change something when followed (GET), like a form would: the one-click
/// unsubscribe link from the emails, which lowers a portfolio's subscriber count.
const WRITING_LINKS: [&str; 1] = ["/unsubscribe/{token}"];
/// The query parameters those pages read. A page asked for with any other is rendered and not
/// kept, so made-up queries cannot fill the cache with copies of one page.
const KNOWN_PARAMETERS: [&str; 2] = ["sort", "cursor"];
/// The largest page kept.
const MAX_PAGE: usize = 1024 * 1024;

/// A response extension: the page holds something of this visitor's (a CSRF token), so it is
/// never kept or shared.
#[derive(Debug, Clone, Copy)]
pub struct Personal;

pub struct PageCache {
    pages: moka::future::Cache<String, Arc<CachedPage>>,
    fragments: moka::future::Cache<String, Arc<Fragment>>,
    generation: AtomicU64,
    /// How long an entry may be served, when other instances write too.
    ttl: Option<Duration>,
    cache_control: HeaderValue,
    counts: HitCounts,
    fragment_counts: HitCounts,
}

/// A rendered piece of a page that is the same for every visitor (a list of memes, in the
/// signed-in pages that cannot be kept whole), with its brotli and zstd forms made once, the
/// first time they are asked for, for `compression::splice`.
pub struct Fragment {
    generation: u64,
    made: Instant,
    html: String,
    /// The picture a link to the page shows (a portfolio's newest meme), found with the list.
    lead: Option<ShareImage>,
    /// By `Encoding::index`: brotli and zstd.
    encoded: [OnceLock<Option<Bytes>>; 4],
}

/// What a fragment's render makes: its HTML, and the picture of the page it is part of.
pub struct FragmentContent {
    pub html: String,
    pub lead: Option<ShareImage>,
}

impl From<String> for FragmentContent {
    fn from(html: String) -> Self {
        Self { html, lead: None }
    }
}

impl Fragment {
    fn new(generation: u64, content: FragmentContent) -> Self {
        let FragmentContent { html, lead } = content;
        Self { generation, made: Instant::now(), html, lead, encoded: Default::default() }
    }

    pub fn html(&self) -> &str {
        &self.html
    }

    pub fn lead(&self) -> Option<&ShareImage> {
        self.lead.as_ref()
    }

    /// The fragment compressed to be spliced into a page in `encoding` (None for gzip and
    /// identity).
    pub fn spliceable(&self, encoding: Encoding) -> Option<&Bytes> {
        self.encoded[encoding.index()]
            .get_or_init(|| compression::compress_spliceable(self.html.as_bytes(), encoding).map(Bytes::from))
            .as_ref()
    }
}

struct CachedPage {
    generation: u64,
    made: Instant,
    content_type: HeaderValue,
    /// A hash of the page: the ETag of each encoding is made from it.
    tag: String,
    /// The page in each encoding (`Encoding::index`), the identity one from the start.
    encoded: [OnceLock<Bytes>; 4],
}

impl CachedPage {
    fn new(generation: u64, content_type: HeaderValue, page: Bytes) -> Self {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(&page);
        let tag = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        let encoded = [OnceLock::from(page), OnceLock::new(), OnceLock::new(), OnceLock::new()];
        Self { generation, made: Instant::now(), content_type, tag, encoded }
    }

    fn identity(&self) -> &Bytes {
        self.encoded[Encoding::Identity.index()].get_or_init(Bytes::new)
    }

    /// The page in `encoding`, compressed now if this is the first time it is asked for.
    fn bytes(&self, encoding: Encoding) -> Bytes {
        self.encoded[encoding.index()]
            .get_or_init(|| Bytes::from(compression::compress(self.identity(), encoding, Effort::Cached)))
            .clone()
    }

    fn etag(&self, encoding: Encoding) -> HeaderValue {
        let etag = match encoding.token() {
            Some(token) => format!("\"{}-{token}\"", self.tag),
            None => format!("\"{}\"", self.tag),
        };
        HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""))
    }

    fn respond(
        &self,
        encoding: Encoding,
        if_none_match: Option<&HeaderValue>,
        cache_control: &HeaderValue,
    ) -> Response {
        let etag = self.etag(encoding);
        if if_none_match.is_some_and(|wanted| matches_etag(wanted, &etag)) {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            let headers = response.headers_mut();
            headers.insert(header::ETAG, etag);
            headers.insert(header::CACHE_CONTROL, cache_control.clone());
            compression::vary_on_encoding(headers);
            return response;
        }
        let bytes = self.bytes(encoding);
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, self.content_type.clone());
        headers.insert(header::ETAG, etag);
        headers.insert(header::CACHE_CONTROL, cache_control.clone());
        compression::set_headers(headers, encoding, bytes.len());
        *response.body_mut() = Body::from(bytes);
        response
    }
}

/// Whether an `If-None-Match` list names `etag` (`*` names any).
fn matches_etag(wanted: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(wanted) = wanted.to_str() else { return false };
    let etag = etag.as_bytes();
    wanted.split(',').map(|t| t.trim()).any(|t| t == "*" || t.trim_start_matches("W/").as_bytes() == etag)
}

impl PageCache {
    /// A cache of at most `max_bytes`, whose entries last `ttl` when other instances write
    /// too (aws), and forever otherwise (until a write makes them stale). `shared_max_age`
    /// lets CloudFront keep an anonymous page for that many seconds.
    pub fn new(max_bytes: u64, ttl: Option<Duration>, shared_max_age: Option<u32>) -> Self {
        let pages = moka::future::Cache::builder()
            .max_capacity(max_bytes)
            // The compressed forms together come to well under half the page again.
            .weigher(|key: &String, page: &Arc<CachedPage>| {
                u32::try_from(key.len() + page.identity().len() * 3 / 2 + 256).unwrap_or(u32::MAX)
            })
            .build();
        let fragments = moka::future::Cache::builder()
            .max_capacity(max_bytes / 2)
            .weigher(|key: &String, fragment: &Arc<Fragment>| {
                u32::try_from(key.len() + fragment.html.len() * 3 / 2 + 256).unwrap_or(u32::MAX)
            })
            .build();
        let cache_control = match shared_max_age {
            Some(seconds) => format!("public, max-age=0, s-maxage={seconds}"),
            // Browsers keep it and ask again each time, with the ETag.
            None => "no-cache".to_owned(),
        };
        Self {
            pages,
            fragments,
            generation: AtomicU64::new(0),
            ttl,
            cache_control: HeaderValue::from_str(&cache_control).unwrap_or(HeaderValue::from_static("no-cache")),
            counts: HitCounts::default(),
            fragment_counts: HitCounts::default(),
        }
    }

    /// Something changed: no page made before now is served again.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn is_current(&self, generation: u64, made: Instant) -> bool {
        generation == self.generation() && self.ttl.is_none_or(|ttl| made.elapsed() < ttl)
    }

    async fn fresh(&self, key: &str) -> Option<Arc<CachedPage>> {
        let page = self.pages.get(key).await?;
        self.is_current(page.generation, page.made).then_some(page)
    }

    /// The piece of a page that `key` names and every visitor sees alike (a list of memes),
    /// kept under the same rules as whole pages: made by `render` when missing or stale.
    pub async fn fragment<F, Fut, C, E>(&self, key: String, render: F) -> Result<Arc<Fragment>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<C, E>>,
        C: Into<FragmentContent>,
    {
        if let Some(fragment) = self.fragments.get(&key).await
            && self.is_current(fragment.generation, fragment.made)
        {
            self.fragment_counts.hit();
            return Ok(fragment);
        }
        self.fragment_counts.miss();
        let generation = self.generation();
        let fragment = Arc::new(Fragment::new(generation, render().await?.into()));
        self.fragments.insert(key, fragment.clone()).await;
        Ok(fragment)
    }

    /// Lookups answered from the cache and not, since start-up: whole pages, and fragments.
    pub fn reports(&self) -> [CacheReport; 2] {
        [self.counts.report("pages"), self.fragment_counts.report("page_fragments")]
    }
}

/// Whether the visitor has a session (then the page may be theirs alone).
fn has_session(headers: &HeaderMap) -> bool {
    let prefix = format!("{}=", super::session::COOKIE_NAME);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|pair| pair.trim_start().starts_with(&prefix))
}

fn known_query(query: Option<&str>) -> bool {
    query.unwrap_or("").split('&').filter(|p| !p.is_empty()).all(|pair| {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        KNOWN_PARAMETERS.contains(&name)
    })
}

/// A response that may be kept and shown to every anonymous visitor.
fn shareable(response: &Response) -> bool {
    response.status() == StatusCode::OK
        && response.extensions().get::<Personal>().is_none()
        && !response.headers().contains_key(header::SET_COOKIE)
        && !response.headers().contains_key(header::CONTENT_ENCODING)
        && compression::is_compressible(response.headers().get(header::CONTENT_TYPE))
}

/// Middleware on the page routes, outside the session: anonymous views of the cached routes
/// are answered from the cache, and every successful write makes the cache stale.
pub async fn serve(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let cache = &state.page_cache;
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|m| m.as_str());
    let reads = method == Method::GET || method == Method::HEAD;
    if (!reads && method != Method::OPTIONS) || route.is_some_and(|r| WRITING_LINKS.contains(&r)) {
        let response = next.run(request).await;
        if response.status().is_success() || response.status().is_redirection() {
            cache.invalidate();
        }
        return response;
    }
    if !reads
        || !route.is_some_and(|r| CACHED_ROUTES.contains(&r))
        || !known_query(request.uri().query())
        || has_session(request.headers())
    {
        return next.run(request).await;
    }
    let key = request.uri().path_and_query().map_or_else(|| request.uri().path().to_owned(), |pq| pq.to_string());
    let encoding = Encoding::negotiate(request.headers());
    let if_none_match = request.headers().get(header::IF_NONE_MATCH).cloned();
    if let Some(page) = cache.fresh(&key).await {
        cache.counts.hit();
        return page.respond(encoding, if_none_match.as_ref(), &cache.cache_control);
    }
    cache.counts.miss();
    // Read first: a write during the render leaves the page made stale already.
    let generation = cache.generation();
    let response = next.run(request).await;
    if method != Method::GET || !shareable(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_PAGE).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "a page too large to keep, or whose body failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("text/html; charset=utf-8"));
    let page = Arc::new(CachedPage::new(generation, content_type, bytes));
    cache.pages.insert(key, page.clone()).await;
    page.respond(encoding, if_none_match.as_ref(), &cache.cache_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_known_query_parameters_are_kept() {
        assert!(known_query(None));
        assert!(known_query(Some("")));
        assert!(known_query(Some("sort=top&cursor=abc")));
        assert!(!known_query(Some("sort=top&utm_source=x")));
        assert!(!known_query(Some("x")));
    }

    #[test]
    fn a_session_cookie_among_others_is_found() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("skyhigh_csrf=abc"));
        assert!(!has_session(&headers));
        headers.insert(header::COOKIE, HeaderValue::from_static("skyhigh_csrf=abc; skyhigh_session=def"));
        assert!(has_session(&headers));
    }

    #[test]
    fn if_none_match_names_the_etag_or_anything() {
        let etag = HeaderValue::from_static("\"abc-br\"");
        assert!(matches_etag(&HeaderValue::from_static("\"abc-br\""), &etag));
        assert!(matches_etag(&HeaderValue::from_static("\"x\", W/\"abc-br\""), &etag));
        assert!(matches_etag(&HeaderValue::from_static("*"), &etag));
        assert!(!matches_etag(&HeaderValue::from_static("\"abc\""), &etag), "another encoding's tag");
    }
}
