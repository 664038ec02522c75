//! `/account`: a signed-in user's password, email address, personal API tokens (make, name,
//! list, revoke; a new token's secret is shown once, on the page the creation redirects to,
//! and never again), and the deletion of the account.
//!
//! Every change here asks for the current password, and a wrong one counts against the
//! sign-in throttle (the same per-account and per-client limits), so this page is no faster a
//! way to guess it. A password change signs out every other session of the account, and gives
//! this browser a new session id.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::audit;
use crate::domain::{Email, Password, TokenId, User};
use crate::services::account::{self, EmailChangeRefused};
use crate::services::{ServiceError, tokens};
use crate::web::AppState;
use crate::web::client_ip::ClientIp;
use crate::web::error::AppError;
use crate::web::forms::{CsrfForm, NoFields};
use crate::web::layout::{PageContext, render, render_with_status};
use crate::web::session::{self, RequireUser};
use crate::web::views::iso;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/password", post(change_password))
        .route("/account/email", post(change_email))
        .route("/account/email/{token}", get(confirm_email))
        .route("/account/delete", post(delete))
        .route("/account/deleted", get(deleted))
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
    /// The account's address now.
    email: String,
    /// A good-news line after a change (`?done=`).
    notice: Option<String>,
    errors: AccountErrors,
    /// The new address typed, kept when the form comes back with an error.
    new_email: String,
    tokens: Vec<TokenRow>,
    /// The secret of the token just made: shown this once.
    new_secret: Option<String>,
    name: String,
    error: Option<String>,
    max_tokens: usize,
}

/// One message per field of the page's forms that can come back with an error.
#[derive(Debug, Default)]
struct AccountErrors {
    current_password: Option<String>,
    new_password: Option<String>,
    email: Option<String>,
    email_password: Option<String>,
    delete_password: Option<String>,
}

const WRONG_PASSWORD: &str = "That is not your current password.";

async fn page(
    state: &AppState,
    page: PageContext,
    new_secret: Option<String>,
    name: String,
    error: Option<String>,
) -> Result<AccountPage, AppError> {
    let user = page.user.as_ref().ok_or_else(|| AppError::Internal(anyhow::anyhow!("account page without a user")))?;
    let email = account::account(state.services(), user.id).await?.email.to_string();
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
    Ok(AccountPage {
        page,
        email,
        notice: None,
        errors: AccountErrors::default(),
        new_email: String::new(),
        tokens,
        new_secret,
        name,
        error,
        max_tokens: tokens::MAX_PER_USER,
    })
}

#[derive(Deserialize, Default)]
struct DoneParam {
    done: Option<String>,
}

/// The line shown after a change redirected back here.
fn notice_for(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "password" => "Your password is changed. Every other place you were signed in is signed out.",
        "email-sent" => {
            "We sent a link to the new address. Your address changes when you open it (it works for 24 hours)."
        }
        _ => return None,
    };
    Some(text.to_owned())
}

async fn show(
    State(state): State<AppState>,
    RequireUser(_): RequireUser,
    session: Session,
    context: PageContext,
    Query(q): Query<DoneParam>,
) -> Result<Response, AppError> {
    // Taken out as it is shown: a reload no longer shows it.
    let secret: Option<String> =
        session.remove(NEW_SECRET).await.map_err(|e| AppError::Unavailable(format!("session store: {e}")))?;
    let mut shown = page(&state, context, secret, String::new(), None).await?;
    shown.notice = notice_for(q.done.as_deref());
    render(&shown)
}

/// The page again with `errors`, answered 422.
async fn rerender(
    state: &AppState,
    context: PageContext,
    errors: AccountErrors,
    new_email: String,
) -> Result<Response, AppError> {
    let mut shown = page(state, context, None, String::new(), None).await?;
    shown.errors = errors;
    shown.new_email = new_email;
    render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &shown)
}

/// Checks the password typed to confirm a change: wrong ones count against the sign-in
/// throttle of the account and of the client, and past its limit the answer is 429.
async fn confirm_password(
    state: &AppState,
    user: &User,
    client: std::net::IpAddr,
    typed: String,
) -> Result<bool, AppError> {
    let account_key = format!("user:{}", user.id);
    state.login_throttle.check(&account_key, client).await?.map_err(|t| {
        tracing::warn!(
            event = "account_password_throttled",
            account = %audit::fingerprint(&account_key),
            address = %audit::address(client),
            "a password check on the account page was refused with 429"
        );
        AppError::TooManyRequests { retry_after: t.retry_after }
    })?;
    if account::password_matches(&state.passwords, user, typed).await? {
        state.login_throttle.record_success(&account_key).await?;
        Ok(true)
    } else {
        state.login_throttle.record_failure(&account_key, client).await?;
        tracing::info!(
            event = "account_password_failed",
            account = %audit::fingerprint(&account_key),
            address = %audit::address(client),
            "a wrong password on the account page"
        );
        Ok(false)
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

#[tracing::instrument(skip_all)]
async fn change_password(
    State(state): State<AppState>,
    RequireUser(signed_in): RequireUser,
    session: Session,
    context: PageContext,
    ClientIp(client): ClientIp,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, AppError> {
    let user = account::account(state.services(), signed_in.id).await?;
    if !confirm_password(&state, &user, client, form.current_password).await? {
        let errors = AccountErrors { current_password: Some(WRONG_PASSWORD.into()), ..Default::default() };
        return rerender(&state, context, errors, String::new()).await;
    }
    let new = match Password::parse(form.new_password) {
        Ok(new) => new,
        Err(e) => {
            let errors = AccountErrors { new_password: Some(e.to_string()), ..Default::default() };
            return rerender(&state, context, errors, String::new()).await;
        }
    };
    account::set_password(state.services(), &state.passwords, user.id, &new).await?;
    // Whoever else holds a session of this account (a stolen cookie, a forgotten computer) is
    // out now; this browser stays in under a new id.
    let ended = state.sessions.end_sessions_of(user.id, session.id()).await?;
    session.cycle_id().await.map_err(|e| AppError::Unavailable(format!("session store: {e}")))?;
    tracing::info!(username = %user.username, other_sessions_ended = ended, "password changed");
    Ok(Redirect::to("/account?done=password#password").into_response())
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[tracing::instrument(skip_all)]
async fn change_email(
    State(state): State<AppState>,
    RequireUser(signed_in): RequireUser,
    context: PageContext,
    ClientIp(client): ClientIp,
    CsrfForm(form): CsrfForm<EmailForm>,
) -> Result<Response, AppError> {
    let user = account::account(state.services(), signed_in.id).await?;
    let typed = form.email.chars().take(300).collect::<String>();
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(e) => {
            let errors = AccountErrors { email: Some(e.to_string()), ..Default::default() };
            return rerender(&state, context, errors, typed).await;
        }
    };
    if !confirm_password(&state, &user, client, form.password).await? {
        let errors = AccountErrors { email_password: Some(WRONG_PASSWORD.into()), ..Default::default() };
        return rerender(&state, context, errors, typed).await;
    }
    match account::request_email_change(state.services(), &user, &email, time::OffsetDateTime::now_utc()).await {
        Ok(()) => Ok(Redirect::to("/account?done=email-sent#email").into_response()),
        Err(ServiceError::BadInput(message)) => {
            let errors = AccountErrors { email: Some(message), ..Default::default() };
            rerender(&state, context, errors, typed).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "accounts/message.html")]
struct MessagePage {
    page: PageContext,
    title: String,
    message: String,
    /// An error (an alert) rather than good news (a notice).
    problem: bool,
    link_href: String,
    link_text: String,
}

/// The link from the new address's email: the account moves there. It works in any browser
/// (opening it proves the address is yours; the password was asked for when it was sent).
#[tracing::instrument(skip_all)]
async fn confirm_email(
    State(state): State<AppState>,
    page: PageContext,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let link = |signed_in: bool| {
        if signed_in {
            ("/account".to_owned(), "Back to your account".to_owned())
        } else {
            ("/login".to_owned(), "Sign in".to_owned())
        }
    };
    let (link_href, link_text) = link(page.user.is_some());
    match account::confirm_email_change(state.services(), &token, time::OffsetDateTime::now_utc()).await? {
        Ok(user) => render(&MessagePage {
            page,
            title: "Your email address is changed".into(),
            message: format!("Your account now uses {}.", user.email),
            problem: false,
            link_href,
            link_text,
        }),
        Err(refused) => {
            let message = match refused {
                EmailChangeRefused::DeadLink => {
                    "This link has expired (they work for 24 hours), was already used, or is not one we sent. \
                     Your address did not change."
                }
                EmailChangeRefused::Taken => {
                    "Another account has started using this address since the link was sent, so your address did \
                     not change."
                }
            };
            render_with_status(
                StatusCode::GONE,
                &MessagePage {
                    page,
                    title: "Your email address did not change".into(),
                    message: message.into(),
                    problem: true,
                    link_href,
                    link_text,
                },
            )
        }
    }
}

#[derive(Deserialize)]
struct DeleteForm {
    #[serde(default)]
    password: String,
}

#[tracing::instrument(skip_all)]
async fn delete(
    State(state): State<AppState>,
    RequireUser(signed_in): RequireUser,
    session: Session,
    context: PageContext,
    ClientIp(client): ClientIp,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<Response, AppError> {
    let user = account::account(state.services(), signed_in.id).await?;
    if !confirm_password(&state, &user, client, form.password).await? {
        let errors = AccountErrors { delete_password: Some(WRONG_PASSWORD.into()), ..Default::default() };
        return rerender(&state, context, errors, String::new()).await;
    }
    account::delete_account(state.services(), &user).await?;
    state.sessions.end_sessions_of(user.id, None).await?;
    session::sign_out(&session).await?;
    Ok(Redirect::to("/account/deleted").into_response())
}

async fn deleted(page: PageContext) -> Result<Response, AppError> {
    render(&MessagePage {
        page,
        title: "Your account is deleted".into(),
        message: "Your account and everything in it are gone. Thank you for the memes.".into(),
        problem: false,
        link_href: "/".into(),
        link_text: "Go to the home page".into(),
    })
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
        Err(ServiceError::BadInput(message)) => {
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
