//! Who calls the API: a personal API token (`Authorization: Bearer …`), a browser's session
//! cookie, or nobody. Reads are open to all, but credentials that are sent must be good: a
//! revoked token is a 401 wherever it is used. A change needs an account with a confirmed
//! address, counts against the write limits, and, from a cookie, the page's CSRF token in
//! `X-CSRF-Token` (a token cannot be sent cross-site by a browser; a cookie can).

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use tower_sessions::Session;

use crate::services::{Actor, tokens};
use crate::storage::ApiToken;
use crate::web::AppState;
use crate::web::csrf::CsrfSecret;
use crate::web::error::AppError;
use crate::web::session::{CurrentUser, SignedIn, require_verified};

pub enum Caller {
    Anonymous,
    Token(ApiToken),
    Session { user: SignedIn, session: Option<Session>, csrf: Option<CsrfSecret>, csrf_header: Option<String> },
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let secret =
                value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).ok_or_else(|| {
                    AppError::Unauthorized(
                        "Send your token as \"Authorization: Bearer <token>\" (make one on your account page).".into(),
                    )
                })?;
            let token = tokens::authenticate(state.services(), secret).await?.ok_or_else(|| {
                AppError::Unauthorized("That API token is not valid: it was revoked, or it is mistyped.".into())
            })?;
            crate::telemetry::request::note_user(token.user_id);
            return Ok(Self::Token(token));
        }
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        Ok(match user {
            None => Self::Anonymous,
            Some(user) => Self::Session {
                user,
                session: parts.extensions.get::<Session>().cloned(),
                csrf: parts.extensions.get::<CsrfSecret>().cloned(),
                csrf_header: parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned),
            },
        })
    }
}

impl Caller {
    /// The account a change is made by, once it passed every check a change needs.
    pub async fn writer(self, state: &AppState, client: IpAddr) -> Result<Actor, AppError> {
        let (actor, counted_as) = match self {
            Self::Anonymous => {
                return Err(AppError::Unauthorized(
                    "Changes need an API token: send \"Authorization: Bearer <token>\" (make one on your account page)."
                        .into(),
                ));
            }
            Self::Token(token) => {
                let (_, actor) = tokens::actor_of(state.services(), &token).await?;
                (actor, format!("token:{}", token.id))
            }
            Self::Session { user, session, csrf, csrf_header } => {
                let csrf = csrf.ok_or_else(|| AppError::Internal(anyhow::anyhow!("CSRF layer missing")))?;
                csrf.require(csrf_header.as_deref()).await?;
                let user = require_verified(state, session.as_ref(), user).await?;
                let key = format!("user:{}", user.id);
                (user.actor(), key)
            }
        };
        match state.api_writes.attempt(&counted_as, client).await? {
            Ok(()) => Ok(actor),
            Err(throttled) => Err(AppError::RateLimited { retry_after: throttled.retry_after, what: "API changes" }),
        }
    }
}
