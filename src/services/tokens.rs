//! Personal API tokens: made, listed and revoked on the account page, used as
//! `Authorization: Bearer <token>` on the API.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Context;
use super::ServiceError;
use super::requests::Actor;
use crate::domain::{TokenId, User};
use crate::storage::ApiToken;

/// Every token starts with this, so a leaked one is easy to recognise (and to scan for).
pub const PREFIX: &str = "shm_";
/// A user holds at most this many tokens at a time.
pub const MAX_PER_USER: usize = 20;
/// A token's name is at most this many characters.
pub const NAME_MAX_CHARS: usize = 60;

/// A token just made: the secret, shown once and never stored, and what is stored.
pub struct NewToken {
    pub secret: String,
    pub token: ApiToken,
}

fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn create(cx: Context<'_>, actor: &Actor, name: &str) -> Result<NewToken, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(ServiceError::BadInput(format!(
            "Give the token a name of 1 to {NAME_MAX_CHARS} characters, like \"chat bot\"."
        )));
    }
    if cx.storage.api_tokens.list(actor.id).await?.len() >= MAX_PER_USER {
        return Err(ServiceError::BadInput(format!(
            "You have {MAX_PER_USER} tokens: revoke one you no longer use first."
        )));
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let token = ApiToken {
        id: TokenId::new(),
        user_id: actor.id,
        name: name.to_owned(),
        created_at: super::now_to_the_second(),
    };
    cx.storage.api_tokens.create(&token, &hash(&secret)).await?;
    tracing::info!(user = %actor.username, token = %token.id, "API token created");
    Ok(NewToken { secret, token })
}

pub async fn list(cx: Context<'_>, actor: &Actor) -> Result<Vec<ApiToken>, ServiceError> {
    Ok(cx.storage.api_tokens.list(actor.id).await?)
}

/// Revokes one of the actor's tokens; someone else's token is not found.
pub async fn revoke(cx: Context<'_>, actor: &Actor, id: TokenId) -> Result<(), ServiceError> {
    if cx.storage.api_tokens.revoke(actor.id, id).await? {
        tracing::info!(user = %actor.username, token = %id, "API token revoked");
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

/// The live token a presented secret belongs to (`None` for anything else: malformed,
/// unknown, revoked).
pub async fn authenticate(cx: Context<'_>, secret: &str) -> Result<Option<ApiToken>, ServiceError> {
    if !secret.starts_with(PREFIX) || secret.len() > 100 {
        return Ok(None);
    }
    Ok(cx.storage.api_tokens.find(&hash(secret)).await?)
}

/// The account a token acts for, for a change: it must still exist and have a confirmed
/// address, like a signed-in poster.
pub async fn actor_of(cx: Context<'_>, token: &ApiToken) -> Result<(User, Actor), ServiceError> {
    let user = cx.storage.users.get(token.user_id).await?.ok_or(ServiceError::NotFound)?;
    if !user.email_verified {
        return Err(ServiceError::Forbidden("Confirm your email address before posting.".into()));
    }
    let actor = Actor { id: user.id, username: user.username.clone() };
    Ok((user, actor))
}
