//! Sign up (with its confirmation link), sign in, sign out.
//!
//! Sign-up answers the same whether or not the address already has an account, so it cannot
//! be used to find out who is registered: a new account gets a confirmation link, and the owner
//! of a registered address an email saying someone tried. Until its address is confirmed an
//! account can sign in and look around but not post (save memes, comment, subscribe), and no
//! email but the confirmation goes to the address. Opening the link confirms the address and
//! asks for the password once more: a link fetched by a mail scanner signs nobody in.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::audit;
use crate::domain::{AccountEmail, AccountEmailKind, Email, Job, MemeId, Password, User, UserId, Username};
use crate::storage::{StorageError, TokenPurpose};
use crate::web::AppState;
use crate::web::client_ip::ClientIp;
use crate::web::error::AppError;
use crate::web::forms::{CsrfForm, NoFields};
use crate::web::layout::{PageContext, render, render_with_status};
use crate::web::session::{self, RequireUser, safe_next};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup_page).post(signup))
        .route("/signup/sent", get(signup_sent))
        .route("/verify/{token}", get(verify))
        .route("/verify/resend", post(resend_confirmation))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

/// How long a confirmation link works.
const CONFIRMATION_LIFETIME: time::Duration = time::Duration::hours(48);

#[derive(Debug, Default, Deserialize)]
struct NextParam {
    next: Option<String>,
    /// `reset`: the sign-in page after a password reset, which says so.
    done: Option<String>,
}

/// Where a password reset sends the browser: sign in with the new password.
pub const AFTER_RESET: &str = "/login?done=reset";

// ---- sign up ----

#[derive(Template, Default)]
#[template(path = "accounts/signup.html")]
struct SignupPage {
    page: PageContext,
    email: String,
    username: String,
    next: String,
    errors: SignupErrors,
}

#[derive(Debug, Default)]
struct SignupErrors {
    email: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl SignupErrors {
    fn any(&self) -> bool {
        self.email.is_some() || self.username.is_some() || self.password.is_some()
    }
}

#[derive(Deserialize)]
struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn signup_page(page: PageContext, Query(q): Query<NextParam>) -> Result<Response, AppError> {
    if page.user.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    render(&SignupPage { page, next: safe_next(q.next.as_deref()), ..Default::default() })
}

#[tracing::instrument(skip_all)]
async fn signup(
    State(state): State<AppState>,
    page: PageContext,
    ClientIp(client): ClientIp,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Result<Response, AppError> {
    let email = Email::parse(&form.email);
    let username = Username::parse(&form.username);
    let password = Password::parse(form.password);
    let mut errors = SignupErrors {
        email: email.as_ref().err().map(ToString::to_string),
        username: username.as_ref().err().map(ToString::to_string),
        password: password.as_ref().err().map(ToString::to_string),
    };
    let next = safe_next(form.next.as_deref());
    let rerender = |page, errors| {
        render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SignupPage {
                page,
                email: form.email.clone(),
                username: form.username.clone(),
                next: next.clone(),
                errors,
            },
        )
    };
    let (Ok(email), Ok(username), Ok(password)) = (email, username, password) else {
        return rerender(page, errors);
    };

    if let Err(throttled) = state.signup_limit.attempt(client).await? {
        tracing::warn!(event = "signup_throttled", address = %audit::address(client), "a sign-up was refused with 429");
        return Err(AppError::TooManyRequests { retry_after: throttled.retry_after });
    }
    let user = User {
        id: UserId::new(),
        username,
        email,
        password_hash: state.passwords.hash(&password).await?,
        created_at: OffsetDateTime::now_utc(),
        email_verified: false,
        email_suppressed: false,
    };
    match state.storage.users.create(&user).await {
        Ok(()) => {
            tracing::info!(username = %user.username, "account created");
            send_confirmation(&state, &user, &next).await?;
        }
        Err(StorageError::Conflict("username")) => {
            // Usernames are public (every portfolio shows one), so saying so reveals nothing.
            errors.username = Some("That username is taken. Please pick another.".into());
            return rerender(page, errors);
        }
        Err(StorageError::Conflict(_)) => {
            // The same answer as a new account; the address's owner hears about the attempt.
            if let Some(owner) = state.storage.users.find_by_email(&user.email).await? {
                let attempt = Job::AccountEmail(AccountEmail {
                    id: MemeId::new().to_string(),
                    to: owner.email.clone(),
                    username: owner.username.clone(),
                    kind: AccountEmailKind::SignupAttempt,
                });
                state.storage.jobs.enqueue(&attempt, std::time::Duration::ZERO).await?;
                state.wake.now();
            }
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to("/signup/sent").into_response())
}

/// A fresh confirmation link for `user`, emailed through the job queue.
async fn send_confirmation(state: &AppState, user: &User, next: &str) -> Result<(), AppError> {
    let token = crate::storage::new_unsubscribe_token();
    let expires = OffsetDateTime::now_utc() + CONFIRMATION_LIFETIME;
    state.storage.tokens.put(&token_hash(&token), TokenPurpose::ConfirmEmail, user.id, "", expires).await?;
    let email = Job::AccountEmail(AccountEmail {
        id: MemeId::new().to_string(),
        to: user.email.clone(),
        username: user.username.clone(),
        kind: AccountEmailKind::ConfirmEmail { token, next: next.to_owned() },
    });
    state.storage.jobs.enqueue(&email, std::time::Duration::ZERO).await?;
    state.wake.now();
    Ok(())
}

use crate::services::account::token_hash;

#[derive(Template)]
#[template(path = "accounts/signup_sent.html")]
struct SignupSentPage {
    page: PageContext,
}

async fn signup_sent(page: PageContext) -> Result<Response, AppError> {
    render(&SignupSentPage { page })
}

/// Opening the link confirms the address, then shows the sign-in form (with the name filled
/// in and the way back to where sign-up started).
#[tracing::instrument(skip_all)]
async fn verify(
    State(state): State<AppState>,
    page: PageContext,
    Path(token): Path<String>,
    Query(q): Query<NextParam>,
) -> Result<Response, AppError> {
    let next = safe_next(q.next.as_deref());
    let taken =
        state.storage.tokens.take(&token_hash(&token), TokenPurpose::ConfirmEmail, OffsetDateTime::now_utc()).await?;
    let Some(user_id) = taken.map(|t| t.user) else {
        return Err(AppError::BadRequest(
            "That confirmation link has expired or was already used. Sign in, and the banner at the top can send a new one."
                .into(),
        ));
    };
    state.storage.users.mark_email_verified(user_id).await?;
    let user = state.storage.users.get(user_id).await?.ok_or(AppError::NotFound)?;
    tracing::info!(username = %user.username, "email confirmed");
    if page.user.as_ref().is_some_and(|u| u.id == user.id) {
        // Opened in the browser that is signed in already: nothing more to ask.
        return Ok(Redirect::to(&next).into_response());
    }
    render(&LoginPage {
        page,
        login: user.username.to_string(),
        next,
        error: None,
        notice: Some("Your email address is confirmed. Sign in to continue.".into()),
    })
}

/// The banner's "Send the link again": at most three an hour per account.
async fn resend_confirmation(
    State(state): State<AppState>,
    RequireUser(signed_in): RequireUser,
    CsrfForm(form): CsrfForm<NextParam>,
) -> Result<Response, AppError> {
    let user = state.storage.users.get(signed_in.id).await?.ok_or(AppError::NotFound)?;
    let next = safe_next(form.next.as_deref());
    if user.email_verified {
        return Ok(Redirect::to(&next).into_response());
    }
    let hour = OffsetDateTime::now_utc().unix_timestamp() / 3600;
    let end = OffsetDateTime::from_unix_timestamp((hour + 1) * 3600).unwrap_or(OffsetDateTime::now_utc());
    let sent = state.storage.counters.increment(&format!("resend-confirmation:{}:{hour}", user.id), end).await?;
    if sent > 3 {
        let retry_after = std::time::Duration::try_from(end - OffsetDateTime::now_utc()).unwrap_or_default();
        return Err(AppError::TooManyRequests { retry_after });
    }
    send_confirmation(&state, &user, &next).await?;
    Ok(Redirect::to("/signup/sent").into_response())
}

// ---- sign in ----

#[derive(Template, Default)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    page: PageContext,
    login: String,
    next: String,
    error: Option<String>,
    /// A good-news line above the form (e.g. "your address is confirmed").
    notice: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

const WRONG_CREDENTIALS: &str = "That username or email and password don't match an account.";

async fn login_page(page: PageContext, Query(q): Query<NextParam>) -> Result<Response, AppError> {
    if page.user.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    let notice = (q.done.as_deref() == Some("reset"))
        .then(|| "Your password is changed, and every session was signed out. Sign in with the new password.".into());
    render(&LoginPage { page, next: safe_next(q.next.as_deref()), notice, ..Default::default() })
}

#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    session: Session,
    page: PageContext,
    ClientIp(client): ClientIp,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, AppError> {
    let login = form.login.trim().to_lowercase();
    let user = find_account(&state, &login).await?;
    // Failures count against the account whichever name it was typed by (so username and
    // email guesses add up), and against the text itself when no account has it.
    let account_key = match &user {
        Some(user) => format!("user:{}", user.id),
        None => format!("login:{login}"),
    };
    state.login_throttle.check(&account_key, client).await?.map_err(|t| {
        tracing::warn!(
            event = "signin_throttled",
            account = %audit::fingerprint(&account_key),
            address = %audit::address(client),
            retry_after_secs = t.retry_after.as_secs(),
            "a sign-in was refused with 429"
        );
        AppError::TooManyRequests { retry_after: t.retry_after }
    })?;

    // Always verify, against a dummy hash when there is no such account or the password is
    // absurdly long, so every failure takes the same time and gets the same answer.
    let password = Password::for_sign_in(form.password);
    let verified = match &password {
        Some(password) => state.passwords.verify(password, user.as_ref().map(|u| u.password_hash.as_str())).await?,
        None => false,
    };
    let next = safe_next(form.next.as_deref());
    match user {
        Some(user) if verified => {
            state.login_throttle.record_success(&account_key).await?;
            session::sign_in(&session, &user).await?;
            tracing::info!(username = %user.username, "signed in");
            Ok(Redirect::to(&next).into_response())
        }
        _ => {
            state.login_throttle.record_failure(&account_key, client).await?;
            tracing::info!(
                event = "signin_failed",
                account = %audit::fingerprint(&account_key),
                address = %audit::address(client),
                "a sign-in failed"
            );
            render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &LoginPage { page, login: form.login, next, error: Some(WRONG_CREDENTIALS.into()), notice: None },
            )
        }
    }
}

async fn find_account(state: &AppState, login: &str) -> Result<Option<User>, AppError> {
    let users = &state.storage.users;
    let found = if login.contains('@') {
        match Email::parse(login) {
            Ok(email) => users.find_by_email(&email).await?,
            Err(_) => None,
        }
    } else {
        match Username::parse(login) {
            Ok(username) => users.find_by_username(&username).await?,
            Err(_) => None,
        }
    };
    Ok(found)
}

// ---- sign out ----

async fn logout(session: Session, CsrfForm(_): CsrfForm<NoFields>) -> Result<Response, AppError> {
    session::sign_out(&session).await?;
    Ok(Redirect::to("/").into_response())
}
