//! "Forgot your password?": `/password/forgot` emails a reset link, `/password/reset/<token>`
//! sets a new password with it.
//!
//! The forgot form answers the same for every well-formed address, with an account or not,
//! and is limited per client. The link works once, for an hour (`services::account`). Opening
//! it only shows the form (a mail scanner fetching it uses nothing up); sending the form uses
//! it. Then every session of the account is ended, this browser's too, and the browser is sent
//! to sign in with the new password rather than signed in here: sign-in stays the one door that
//! makes a session (with its throttle), a password manager offers to save the new password
//! from the sign-in form, and a link opened on someone else's computer leaves nobody signed in
//! there.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::audit;
use crate::auth::client_key;
use crate::domain::{Email, Password};
use crate::services::account;
use crate::web::AppState;
use crate::web::client_ip::ClientIp;
use crate::web::error::AppError;
use crate::web::forms::CsrfForm;
use crate::web::layout::{PageContext, render, render_with_status};
use crate::web::pages::accounts::AFTER_RESET;
use crate::web::session;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/password/forgot", get(forgot_page).post(forgot))
        .route("/password/reset/{token}", get(reset_page).post(reset))
}

/// Reset requests per client address per clock hour: enough for typos, too few to use the
/// form to probe addresses or flood mailboxes.
const RESET_REQUESTS_PER_CLIENT_PER_HOUR: u64 = 10;

#[derive(Template, Default)]
#[template(path = "accounts/forgot.html")]
struct ForgotPage {
    page: PageContext,
    email: String,
    error: Option<String>,
    /// The request went through: say what happens next (the same for every address).
    sent: bool,
}

#[derive(Deserialize, Default)]
struct SentParam {
    sent: Option<String>,
}

async fn forgot_page(page: PageContext, Query(q): Query<SentParam>) -> Result<Response, AppError> {
    render(&ForgotPage { page, sent: q.sent.is_some(), ..Default::default() })
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

#[tracing::instrument(skip_all)]
async fn forgot(
    State(state): State<AppState>,
    page: PageContext,
    ClientIp(client): ClientIp,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Result<Response, AppError> {
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(e) => {
            // Only the shape of the address is judged here, which tells nothing about accounts.
            let typed = form.email.chars().take(300).collect();
            return render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ForgotPage { page, email: typed, error: Some(e.to_string()), sent: false },
            );
        }
    };
    let now = OffsetDateTime::now_utc();
    let hour = now.unix_timestamp() / 3600;
    let end = OffsetDateTime::from_unix_timestamp((hour + 1) * 3600).unwrap_or(now);
    let asked = state.storage.counters.increment(&format!("reset:client:{}:{hour}", client_key(client)), end).await?;
    if asked > RESET_REQUESTS_PER_CLIENT_PER_HOUR {
        tracing::warn!(event = "reset_throttled", address = %audit::address(client), "a password reset request was refused with 429");
        let retry_after = std::time::Duration::try_from(end - now).unwrap_or_default();
        return Err(AppError::RateLimited { retry_after, what: "password reset requests" });
    }
    account::request_reset(state.services(), &email, now).await?;
    Ok(Redirect::to("/password/forgot?sent=1").into_response())
}

#[derive(Template)]
#[template(path = "accounts/reset.html")]
struct ResetPage {
    page: PageContext,
    token: String,
    /// The account the link is for; `None` when the link is dead (the page says so).
    username: Option<String>,
    error: Option<String>,
}

/// The page of a dead link: 410, the link is gone for good.
fn dead_link(page: PageContext) -> Result<Response, AppError> {
    render_with_status(StatusCode::GONE, &ResetPage { page, token: String::new(), username: None, error: None })
}

/// A link's secret is 32 hex digits; anything else cannot be one (and is not looked up).
fn plausible(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn reset_page(
    State(state): State<AppState>,
    page: PageContext,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if !plausible(&token) {
        return dead_link(page);
    }
    match account::reset_link_account(state.services(), &token, OffsetDateTime::now_utc()).await? {
        Some(user) => render(&ResetPage { page, token, username: Some(user.username.to_string()), error: None }),
        None => dead_link(page),
    }
}

#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    password: String,
}

#[tracing::instrument(skip_all)]
async fn reset(
    State(state): State<AppState>,
    page: PageContext,
    session: Session,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<Response, AppError> {
    if !plausible(&token) {
        return dead_link(page);
    }
    let now = OffsetDateTime::now_utc();
    let new = match Password::parse(form.password) {
        Ok(new) => new,
        Err(e) => {
            // The link is not used up by a password that does not fit.
            return match account::reset_link_account(state.services(), &token, now).await? {
                Some(user) => render_with_status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &ResetPage { page, token, username: Some(user.username.to_string()), error: Some(e.to_string()) },
                ),
                None => dead_link(page),
            };
        }
    };
    let Some(user) = account::reset_password(state.services(), &state.passwords, &token, &new, now).await? else {
        return dead_link(page);
    };
    let ended = state.sessions.end_sessions_of(user.id, None).await?;
    // Whoever this browser was signed in as, it is signed out: it signs in with the new password.
    session::sign_out(&session).await?;
    // The sign-in throttle forgets the failures that may have led here.
    state.login_throttle.record_success(&format!("user:{}", user.id)).await?;
    tracing::info!(username = %user.username, sessions_ended = ended, "signed out everywhere after a password reset");
    Ok(Redirect::to(AFTER_RESET).into_response())
}
