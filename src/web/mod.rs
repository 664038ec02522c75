//! The HTTP layer: application state, the router, and the middleware every request passes.

pub mod access_log;
pub mod api;
pub mod body_limit;
pub mod client_ip;
pub mod compression;
pub mod csrf;
pub mod cursor;
pub mod error;
pub mod flash;
pub mod forms;
pub mod layout;
pub mod meme_form;
pub mod metrics;
pub mod page_cache;
pub mod pages;
pub mod security;
pub mod session;
pub mod usage_chart;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;

use crate::auth::{ApiWriteLimit, LoginThrottle, PasswordHasher, RenderLimit, SignupLimit};
use crate::config::Config;
use crate::notify::Wake;
use crate::services::memes::Renderer;
use crate::storage::Storage;
use error::AppError;

/// A request that takes longer than this is answered 408; it also bounds graceful shutdown.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the local backend's media are served (without a CDN).
pub const LOCAL_MEDIA_PATH: &str = "/media/";

/// Everything handlers depend on, chosen once at start-up. Cloned into every extractor, so it
/// is one `Arc` (one atomic increment) rather than a struct of a dozen of them.
#[derive(Clone)]
pub struct AppState(Arc<App>);

impl AppState {
    pub fn new(app: App) -> Self {
        Self(Arc::new(app))
    }
}

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

pub struct App {
    pub config: Arc<Config>,
    pub storage: Storage,
    /// The sessions store as the session layer sees it (with what it remembers in memory).
    pub sessions: session::SessionStoreAdapter,
    pub passwords: PasswordHasher,
    pub login_throttle: LoginThrottle,
    pub signup_limit: SignupLimit,
    pub renderer: Renderer,
    pub cursors: Arc<cursor::CursorSigner>,
    /// Wakes the delivery worker after a save.
    pub wake: Wake,
    /// Rendered memes-by-URL, bounded by bytes.
    pub url_cache: crate::services::memes_by_url::UrlCache,
    /// Renders per client address (previews, downloads, `/i/` cache misses).
    pub render_limit: RenderLimit,
    /// API writes per token and per client address.
    pub api_writes: ApiWriteLimit,
    /// Anonymous views of the busiest pages, rendered and compressed.
    pub page_cache: page_cache::PageCache,
    /// The unread counts on the header's Notifications link.
    pub badges: crate::services::notifications::UnreadBadges,
}

impl App {
    /// What the use cases in `services` work with.
    pub fn services(&self) -> crate::services::Context<'_> {
        crate::services::Context {
            storage: &self.storage,
            renderer: &self.renderer,
            wake: &self.wake,
            badges: &self.badges,
        }
    }

    /// The public URL of a stored media object: the CDN when configured, else our `/media`.
    pub fn media_url(&self, key: impl AsRef<str>) -> String {
        let key = key.as_ref();
        self.cdn_media_url(key).unwrap_or_else(|| [LOCAL_MEDIA_PATH, key].concat())
    }

    /// A stored media object's URL on the media CDN, when one is configured.
    pub fn cdn_media_url(&self, key: &str) -> Option<String> {
        self.config.media_url.as_deref().map(|base| format!("{}/{key}", base.trim_end_matches('/')))
    }
}

/// The whole application as a `Router`, so tests can drive it without a socket.
pub fn router(state: AppState) -> Router {
    let secure = state.config.cookie_secure;
    let metered = state.config.backend == crate::config::Backend::Aws;
    let forms = Router::new()
        .merge(pages::home::router())
        .merge(pages::accounts::router())
        .merge(pages::account::router())
        .merge(pages::password::router())
        .merge(pages::meme::router())
        .merge(pages::comments::router())
        .merge(pages::templates::router())
        .merge(pages::users::router())
        .merge(pages::following::router())
        .route_layer(DefaultBodyLimit::max(body_limit::FORM_LIMIT))
        .route_layer(middleware::from_fn_with_state(
            body_limit::DeclaredLimit::form(),
            body_limit::refuse_declared_oversize,
        ));
    // Inner to outer: CSRF sees the request closest to the handler; panics and timeouts
    // become responses that the error renderer turns into pages; the session is loaded
    // before (and saved after) all of that; an anonymous view of a cached page is answered
    // before any of it.
    let pages = Router::new()
        .merge(forms)
        .merge(pages::editor::router(state.config.max_upload_bytes(), state.config.max_upload_mb))
        .merge(pages::drafts::router(state.config.max_upload_bytes(), state.config.max_upload_mb))
        .merge(api::router(state.config.max_upload_bytes(), state.config.max_upload_mb))
        .fallback(not_found)
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn_with_state(state.clone(), page_cache::serve))
                .layer(session::layer(state.sessions.clone(), secure))
                .layer(middleware::from_fn(error::render_error_pages))
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(middleware::from_fn(move |req, next| csrf::protect(secure, req, next))),
        );
    // What a browser fetches as a resource (images by URL, media, static files) and the health
    // check: GETs that read no cookie and change nothing, so no session or CSRF work (a quarter
    // of a cached image's cost). Their error pages show the anonymous header.
    let resources = Router::new()
        .merge(pages::health::router())
        .merge(pages::static_files::router())
        .merge(pages::media::router())
        .merge(pages::memes_by_url::router())
        .route_layer(DefaultBodyLimit::max(body_limit::FORM_LIMIT))
        .layer(
            ServiceBuilder::new()
                .layer(middleware::from_fn(error::render_error_pages))
                .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, REQUEST_TIMEOUT))
                .layer(CatchPanicLayer::custom(panic_response)),
        );
    // Outer to inner: a malformed incoming id is dropped, the id is set (the incoming one, or
    // a new one) and copied to the response, and the access log serves the request inside a
    // span naming it. Inside the router, so the log sees the matched route's template. Text
    // made for this request is compressed inside the log, which so counts the bytes sent.
    let access = access_log::AccessLog::new(state.config.trusted_proxies, metered);
    let app = Router::new().merge(pages).merge(resources).layer(
        ServiceBuilder::new()
            .layer(middleware::from_fn(access_log::refuse_malformed_ids))
            .layer(SetRequestIdLayer::new(access_log::REQUEST_ID_HEADER, access_log::MakeId))
            .layer(PropagateRequestIdLayer::new(access_log::REQUEST_ID_HEADER))
            .layer(middleware::from_fn_with_state(access, access_log::log_requests))
            .layer(middleware::from_fn(compression::compress_responses)),
    );
    // Outermost, so that every response — error pages included — carries them.
    let app = app.layer(security::layer(&state.config, state.storage.drafts.direct_upload_origin().as_deref()));
    app.with_state(state)
}

async fn not_found() -> AppError {
    AppError::NotFound
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    AppError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
}
