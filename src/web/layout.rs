//! What every page's layout needs (who is signed in, a CSRF token for its forms), and the
//! helper that turns an askama template into an HTML response.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::csrf::{CsrfSecret, TokenMinter};
use super::error::{AlreadyRendered, AppError};
use super::session::{CurrentUser, SignedIn};

/// Given to every template as `page`.
#[derive(Debug, Clone, Default)]
pub struct PageContext {
    pub user: Option<SignedIn>,
    tokens: Option<TokenMinter>,
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
        Self { user, tokens }
    }

    /// A freshly masked token for one of the page's forms (hidden field `csrf_token`), minted
    /// only when a form is shown: a page without forms holds nothing of its visitor's.
    pub fn csrf_token(&self) -> String {
        self.tokens.as_ref().map(TokenMinter::token).unwrap_or_default()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PageContext {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        let tokens = match parts.extensions.get::<CsrfSecret>() {
            Some(csrf) => Some(csrf.minter().await),
            None => None,
        };
        Ok(Self { user, tokens })
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

impl PageContext {
    /// The versioned URL of an embedded static file, for templates.
    pub fn asset(&self, name: &str) -> String {
        super::pages::static_files::url(name)
    }
}
