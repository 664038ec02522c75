//! `/account`: a signed-in user's personal API tokens (make, name, list, revoke). A new token's
//! secret is shown once, on the page the creation redirects to, and never again.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::TokenId;
use crate::services::tokens;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::forms::{CsrfForm, NoFields};
use crate::web::layout::{PageContext, render, render_with_status};
use crate::web::session::RequireUser;
use crate::web::views::iso;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/tokens", post(create))
        .route("/account/tokens/{id}/revoke", post(revoke))
}

/// The session key that carries a new token's secret to the one page that shows it.
const NEW_SECRET: &str = "new_api_token";

struct TokenRow {
    id: String,
    name: String,
    created_iso: String,
    created: String,
}

#[derive(Template)]
#[template(path = "accounts/account.html")]
struct AccountPage {
    page: PageContext,
    tokens: Vec<TokenRow>,
    /// The secret of the token just made: shown this once.
    new_secret: Option<String>,
    name: String,
    error: Option<String>,
    max_tokens: usize,
}

async fn page(
    state: &AppState,
    page: PageContext,
    new_secret: Option<String>,
    name: String,
    error: Option<String>,
) -> Result<AccountPage, AppError> {
    let user = page.user.as_ref().ok_or_else(|| AppError::Internal(anyhow::anyhow!("account page without a user")))?;
    let tokens = tokens::list(state.services(), &user.actor())
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id.to_string(),
            name: t.name,
            created_iso: iso(t.created_at),
            created: t.created_at.date().to_string(),
        })
        .collect();
    Ok(AccountPage { page, tokens, new_secret, name, error, max_tokens: tokens::MAX_PER_USER })
}

async fn show(
    State(state): State<AppState>,
    RequireUser(_): RequireUser,
    session: Session,
    context: PageContext,
) -> Result<Response, AppError> {
    // Taken out as it is shown: a reload no longer shows it.
    let secret: Option<String> =
        session.remove(NEW_SECRET).await.map_err(|e| AppError::Unavailable(format!("session store: {e}")))?;
    render(&page(&state, context, secret, String::new(), None).await?)
}

#[derive(Deserialize)]
struct NewTokenForm {
    #[serde(default)]
    name: String,
}

async fn create(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    session: Session,
    context: PageContext,
    CsrfForm(form): CsrfForm<NewTokenForm>,
) -> Result<Response, AppError> {
    match tokens::create(state.services(), &user.actor(), &form.name).await {
        Ok(made) => {
            session
                .insert(NEW_SECRET, made.secret)
                .await
                .map_err(|e| AppError::Unavailable(format!("session store: {e}")))?;
            Ok(Redirect::to("/account#new-token").into_response())
        }
        Err(crate::services::ServiceError::BadInput(message)) => {
            let typed = form.name.chars().take(tokens::NAME_MAX_CHARS * 2).collect();
            render_with_status(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page(&state, context, None, typed, Some(message)).await?,
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn revoke(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let id = TokenId::parse(&id).map_err(|_| AppError::NotFound)?;
    tokens::revoke(state.services(), &user.actor(), id).await?;
    Ok(Redirect::to("/account#tokens").into_response())
}
