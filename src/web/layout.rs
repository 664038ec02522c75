//! What every page's layout needs (who is signed in, a CSRF token for its forms), and the
//! helper that turns an askama template into an HTML response.

use askama::Template;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;

use super::csrf::{CsrfSecret, TokenMinter};
use super::error::{AlreadyRendered, AppError};
use super::session::{CurrentUser, SignedIn};

/// Given to every template as `page`.
#[derive(Debug, Clone, Default)]
pub struct PageContext {
    pub user: Option<SignedIn>,
    tokens: Option<TokenMinter>,
    /// What the action that led here had to say, shown once.
    pub flash: Option<super::flash::Flash>,
    /// The header's unread badge ("3", "99+"), for a signed-in user with unread notifications.
    pub unread_badge: Option<String>,
}

impl PageContext {
    /// For the error renderer, which runs outside the extractors.
    pub async fn from_parts(session: Option<&tower_sessions::Session>, extensions: &Extensions) -> Self {
        let user = match session {
            Some(session) => super::session::signed_in(session).await.ok().flatten(),
            None => None,
        };
        let tokens = match extensions.get::<CsrfSecret>() {
            Some(csrf) => Some(csrf.minter_for(session).await),
            None => None,
        };
        Self { user, tokens, flash: None, unread_badge: None }
    }

    /// A freshly masked token for one of the page's forms (hidden field `csrf_token`), minted
    /// only when a form is shown: a page without forms holds nothing of its visitor's.
    pub fn csrf_token(&self) -> String {
        self.tokens.as_ref().map(TokenMinter::token).unwrap_or_default()
    }
}

impl<S> FromRequestParts<S> for PageContext
where
    S: Send + Sync,
    super::AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        let tokens = match parts.extensions.get::<CsrfSecret>() {
            Some(csrf) => Some(csrf.minter().await),
            None => None,
        };
        // Only signed-in actions leave messages: a visitor's page reads nothing more.
        let flash = match (&user, parts.extensions.get::<tower_sessions::Session>()) {
            (Some(_), Some(session)) => super::flash::take(session).await,
            _ => None,
        };
        // See `UnreadBadges` for what this costs on each backend.
        let unread_badge = match &user {
            Some(user) => {
                let app = super::AppState::from_ref(state);
                crate::services::notifications::unread_badge(app.services(), user.id).await
            }
            None => None,
        };
        Ok(Self { user, tokens, flash, unread_badge })
    }
}

/// Renders a page with status 200.
pub fn render(template: &impl Template) -> Result<Response, AppError> {
    render_with_status(StatusCode::OK, template)
}

/// Renders a page with another status, e.g. a form re-rendered with 422. The error-page
/// middleware leaves such a response as it is.
pub fn render_with_status(status: StatusCode, template: &impl Template) -> Result<Response, AppError> {
    let body = template.render().map_err(|e| AppError::Internal(anyhow::Error::new(e).context("rendering a page")))?;
    let mut response = (status, Html(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status != StatusCode::OK {
        response.extensions_mut().insert(AlreadyRendered);
    }
    Ok(response)
}

/// Where a page template shows its kept fragment: `{{ fragment|safe }}` in the template, with
/// this as the value. A comment can come from no escaped text, so it marks one place only.
pub const FRAGMENT_SLOT: &str = "<!--skyhigh:fragment-->";

/// A page made of a part rendered for this request around a kept fragment (a response
/// extension): the compression layer splices the fragment's stored brotli or zstd between the
/// two parts instead of compressing the whole page again.
#[derive(Clone)]
pub struct SplicedPage {
    pub before: Bytes,
    pub fragment: std::sync::Arc<super::page_cache::Fragment>,
    pub after: Bytes,
}

/// Renders a page whose template holds `FRAGMENT_SLOT`, with `fragment` in that place.
pub fn render_around(
    template: &impl Template,
    fragment: std::sync::Arc<super::page_cache::Fragment>,
) -> Result<Response, AppError> {
    let page = template.render().map_err(|e| AppError::Internal(anyhow::Error::new(e).context("rendering a page")))?;
    let (before, after) = page
        .split_once(FRAGMENT_SLOT)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a page template has no fragment slot")))?;
    let mut whole = String::with_capacity(page.len() + fragment.html().len());
    whole.push_str(before);
    whole.push_str(fragment.html());
    whole.push_str(after);
    let spliced = SplicedPage {
        before: Bytes::copy_from_slice(before.as_bytes()),
        fragment,
        after: Bytes::copy_from_slice(after.as_bytes()),
    };
    let mut response = Html(whole).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.extensions_mut().insert(spliced);
    Ok(response)
}

/// Renders a fragment's template to its HTML (`PageCache::fragment` keeps it).
pub fn render_fragment(template: &impl Template) -> Result<String, AppError> {
    template.render().map_err(|e| AppError::Internal(anyhow::Error::new(e).context("rendering a page fragment")))
}

impl PageContext {
    /// The versioned URL of an embedded static file, for templates.
    pub fn asset(&self, name: &str) -> String {
        super::pages::static_files::url(name)
    }
}
