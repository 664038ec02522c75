//! Sign up, sign in, sign out.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::domain::{Email, Password, User, UserId, Username};
use crate::storage::StorageError;
use crate::web::client_ip::ClientIp;
use crate::web::error::AppError;
use crate::web::forms::{CsrfForm, NoFields};
use crate::web::layout::{PageContext, render, render_with_status};
use crate::web::session::{self, safe_next};
use crate::web::{AppState, audit};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup_page).post(signup))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

#[derive(Debug, Default, Deserialize)]
struct NextParam {
    next: Option<String>,
}

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
    session: Session,
    page: PageContext,
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

    let user = User {
        id: UserId::new(),
        username,
        email,
        password_hash: state.passwords.hash(&password).await?,
        created_at: OffsetDateTime::now_utc(),
    };
    match state.storage.users.create(&user).await {
        Ok(()) => {}
        Err(StorageError::Conflict("username")) => {
            errors.username = Some("That username is taken. Please pick another.".into());
            return rerender(page, errors);
        }
        Err(StorageError::Conflict(_)) => {
            errors.email = Some("An account with that email already exists. Sign in instead?".into());
            return rerender(page, errors);
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(username = %user.username, "account created");
    session::sign_in(&session, user.id, &user.username).await?;
    Ok(Redirect::to(&next).into_response())
}

// ---- sign in ----

#[derive(Template, Default)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    page: PageContext,
    login: String,
    next: String,
    error: Option<String>,
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
    render(&LoginPage { page, next: safe_next(q.next.as_deref()), ..Default::default() })
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
    state.login_throttle.check(&account_key, client).map_err(|t| {
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
            state.login_throttle.record_success(&account_key);
            session::sign_in(&session, user.id, &user.username).await?;
            tracing::info!(username = %user.username, "signed in");
            Ok(Redirect::to(&next).into_response())
        }
        _ => {
            state.login_throttle.record_failure(&account_key, client);
            tracing::info!(
                event = "signin_failed",
                account = %audit::fingerprint(&account_key),
                address = %audit::address(client),
                "a sign-in failed"
            );
            render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &LoginPage { page, login: form.login, next, error: Some(WRONG_CREDENTIALS.into()) },
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
