//! Cross-site request forgery protection, in two independent layers:
//!
//! 1. Every unsafe request (POST, PUT, PATCH, DELETE) from a browser must come from our own
//!    origin: `Sec-Fetch-Site` must be `same-origin` or `none`, and `Origin`, when sent, must
//!    name the host the request was sent to.
//! 2. Every form carries `csrf_token`, checked against a secret in the `skyhigh_csrf` cookie
//!    (the double-submit pattern, as Django does it) and bound to the session: the token is
//!    HMAC(secret, session id), so a cookie planted by someone else (from a sibling subdomain,
//!    or over plain HTTP) yields no token that works for the victim's session, even where a
//!    browser sends no Origin header. The token in a page is masked with fresh random bytes
//!    each time, so it never repeats in a compressed response (BREACH).
//!
//! The secret lives in its own cookie rather than the session so that anonymous visitors (sign
//! up, sign in, make a meme) get protected forms without creating a stored session each; their
//! tokens are bound to "no session". Signing in changes the session id, so forms rendered
//! before it stop working, as they should.
//!
//! Tokens are minted only for pages that show a form, and the cookie is set only then: a page
//! without forms (the home page to an anonymous visitor) carries nothing of the visitor's, so
//! it can be kept and shared (`page_cache`). A page that did get a token says so (`Personal`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::error::AppError;
use crate::domain::DraftOwner;

pub const COOKIE_NAME: &str = "skyhigh_csrf";
pub const FIELD_NAME: &str = "csrf_token";
const SECRET_LEN: usize = 32;

/// The per-browser secret from the cookie.
#[derive(Clone)]
struct Secret([u8; SECRET_LEN]);

impl Secret {
    fn generate() -> Self {
        let mut bytes = [0u8; SECRET_LEN];
        rand::thread_rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    fn from_cookie_value(value: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        Some(Self(bytes.try_into().ok()?))
    }

    fn cookie_value(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The tag of this browser's draft uploads (issue 15). Anonymous visitors have no stored
    /// session, but every browser that posts a form has this secret, in an HttpOnly cookie no
    /// script can read, and it outlives sign-in and sign-up (a draft made before them is still
    /// the browser's after). A keyed hash, so the tag (in storage keys) reveals nothing of the
    /// secret.
    fn draft_owner(&self) -> DraftOwner {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_mac());
        mac.update(b"skyhigh draft owner v1\0");
        DraftOwner::from_digest(&mac.finalize().into_bytes())
    }

    /// The unmasked token for one session (or for none).
    fn bound_to(&self, session_id: Option<&str>) -> [u8; SECRET_LEN] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable_mac());
        mac.update(b"skyhigh csrf v2\0");
        mac.update(session_id.unwrap_or("").as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// HMAC takes keys of any length, so building one cannot fail; this only satisfies the type.
fn unreachable_mac() -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(b"csrf").expect("HMAC takes any key length")
}

/// A token for one form: `mask || (mask XOR bound)`.
fn mask(bound: &[u8; SECRET_LEN]) -> String {
    let mut mask = [0u8; SECRET_LEN];
    rand::thread_rng().fill_bytes(&mut mask);
    let mut token = Vec::with_capacity(SECRET_LEN * 2);
    token.extend_from_slice(&mask);
    token.extend(mask.iter().zip(bound.iter()).map(|(m, s)| m ^ s));
    URL_SAFE_NO_PAD.encode(token)
}

/// Whether a submitted token unmasks to `bound` (constant time).
fn unmasks_to(token: &str, bound: &[u8; SECRET_LEN]) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(token.trim()) else { return false };
    if bytes.len() != SECRET_LEN * 2 {
        return false;
    }
    let (mask, masked) = bytes.split_at(SECRET_LEN);
    let unmasked: Vec<u8> = mask.iter().zip(masked).map(|(m, x)| m ^ x).collect();
    unmasked.ct_eq(bound).into()
}

/// The request's CSRF state, available to handlers as a request extension: the browser's
/// secret and the session it is bound to.
#[derive(Clone)]
pub struct CsrfSecret {
    secret: Secret,
    session: Option<Session>,
    /// Whether a token was minted for the response (then the cookie must be set, and the page
    /// is the visitor's own).
    issued: Arc<AtomicBool>,
}

/// What a page needs to mint tokens for its forms when it renders them: the secret and the id
/// of the session they are bound to. Minting nothing costs nothing.
#[derive(Clone)]
pub struct TokenMinter {
    csrf: CsrfSecret,
    session_id: Option<String>,
}

impl std::fmt::Debug for TokenMinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenMinter")
    }
}

impl TokenMinter {
    /// A freshly masked token for one form.
    pub fn token(&self) -> String {
        self.csrf.issued.store(true, Ordering::Relaxed);
        mask(&self.csrf.secret.bound_to(self.session_id.as_deref()))
    }
}

impl CsrfSecret {
    /// The id of the session as the handler sees it: loaded first, so a cookie naming no live
    /// session counts as no session, the same when a page is rendered and when its form returns.
    async fn session_id(session: Option<&Session>) -> Option<String> {
        let session = session?;
        session.get_value(super::session::AUTH_KEY).await.ok()?;
        session.id().map(|id| id.to_string())
    }

    /// What mints tokens for a page's forms, bound to the request's session.
    pub async fn minter(&self) -> TokenMinter {
        self.minter_for(self.session.as_ref()).await
    }

    /// The same, bound to `session` rather than the request's (the 503 page passes none, so
    /// as not to ask a failed session store again).
    pub async fn minter_for(&self, session: Option<&Session>) -> TokenMinter {
        TokenMinter { csrf: self.clone(), session_id: Self::session_id(session).await }
    }

    /// Whose draft uploads this browser's are (see `Secret::draft_owner`).
    pub fn draft_owner(&self) -> DraftOwner {
        self.secret.draft_owner()
    }

    /// Checks a submitted token, as a 403 when it is missing or wrong.
    pub async fn require(&self, token: Option<&str>) -> Result<(), AppError> {
        let bound = self.secret.bound_to(Self::session_id(self.session.as_ref()).await.as_deref());
        match token {
            Some(token) if unmasks_to(token, &bound) => Ok(()),
            _ => {
                tracing::warn!(
                    event = "csrf_rejected",
                    reason = if token.is_some() { "token mismatch" } else { "no token" },
                    "a form was refused with 403"
                );
                Err(AppError::Forbidden(
                    "This form has expired or did not come from Sky-High Memes. Please reload the page and try again."
                        .into(),
                ))
            }
        }
    }
}

/// The draft tag of the browser whose `skyhigh_csrf` cookie has `value` (tests plant drafts with
/// it); `None` for a value that is no secret of ours.
pub fn draft_owner_of_cookie(value: &str) -> Option<DraftOwner> {
    Secret::from_cookie_value(value).map(|s| s.draft_owner())
}

/// The token scripts send in a header rather than a form field.
pub fn header_token(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-csrf-token").and_then(|v| v.to_str().ok())
}

fn secret_from_cookies(headers: &HeaderMap) -> Option<Secret> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .and_then(|(_, value)| Secret::from_cookie_value(value))
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Layer 1: refuses unsafe requests that a browser says come from another site.
fn cross_site_refusal(headers: &HeaderMap) -> Option<AppError> {
    let refuse = || {
        tracing::warn!(
            event = "csrf_rejected",
            reason = "cross-site request",
            "an unsafe request was refused with 403"
        );
        Some(AppError::Forbidden("Cross-site form submissions are refused.".into()))
    };
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return refuse();
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host =
            origin.to_str().ok().and_then(|o| o.strip_prefix("https://").or_else(|| o.strip_prefix("http://")));
        match (origin_host, host) {
            (Some(origin_host), Some(host)) if origin_host.eq_ignore_ascii_case(host) => {}
            _ => return refuse(),
        }
    }
    None
}

/// Middleware: layer 1 for unsafe requests, and a secret for every request (set as a cookie
/// when the browser had none and the response minted a token from it, or is an error page).
pub async fn protect(secure_cookie: bool, mut request: Request, next: Next) -> Response {
    // API clients that authenticate with a bearer token send no cookies, so they cannot be
    // forged cross-site; everything else is a browser and gets the origin check.
    let bearer = request.headers().get(header::AUTHORIZATION).is_some_and(|v| v.as_bytes().starts_with(b"Bearer "));
    if is_unsafe(request.method())
        && !bearer
        && let Some(refusal) = cross_site_refusal(request.headers())
    {
        return refusal.into_response();
    }

    let existing = secret_from_cookies(request.headers());
    let is_new = existing.is_none();
    let secret = existing.unwrap_or_else(Secret::generate);
    let session = request.extensions().get::<Session>().cloned();
    let csrf = CsrfSecret { secret: secret.clone(), session, issued: Arc::default() };
    request.extensions_mut().insert(csrf.clone());
    let mut response = next.run(request).await;
    let issued = csrf.issued.load(Ordering::Relaxed);
    if issued {
        response.extensions_mut().insert(super::page_cache::Personal);
    }
    // The error renderer (outside this layer) needs it to give its page a token.
    response.extensions_mut().insert(csrf);

    // Error pages are rendered later, outside this layer, and may show a form: they get the
    // cookie too (they are never kept).
    let error_page = response.status().is_client_error() || response.status().is_server_error();
    if is_new && (issued || error_page) {
        let mut cookie = format!("{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Lax", secret.cookie_value());
        if secure_cookie {
            cookie.push_str("; Secure");
        }
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_token_verifies_against_its_secret_and_session_only() {
        let secret = Secret::generate();
        let bound = secret.bound_to(Some("session-a"));
        let token = mask(&bound);
        assert!(unmasks_to(&token, &bound));
        assert_ne!(token, mask(&bound), "each token is masked afresh");
        assert!(!unmasks_to(&token, &Secret::generate().bound_to(Some("session-a"))));
        assert!(!unmasks_to(&token, &secret.bound_to(Some("session-b"))), "bound to its session");
        assert!(!unmasks_to(&token, &secret.bound_to(None)));
        assert!(!unmasks_to("", &bound));
        assert!(!unmasks_to("not base64 !!", &bound));
        assert!(!unmasks_to(&secret.cookie_value(), &bound), "the raw secret is not a token");
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(cross_site_refusal(&headers).is_none(), "no Origin: older clients, token still checked");
        headers.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(cross_site_refusal(&headers).is_none());
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(cross_site_refusal(&headers).is_some());
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(cross_site_refusal(&headers).is_some());
        headers.remove(header::ORIGIN);
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(cross_site_refusal(&headers).is_some());
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(cross_site_refusal(&headers).is_none());
    }
}
