//! The account's own basics: changing the password (knowing it, or by an emailed link when it
//! is forgotten), moving the account to another email address, and deleting it.
//!
//! Two rules run through all of it. An answer never tells whether an address has an account
//! (a reset asked for an unknown address, or a move to a taken one, answers as any other; the
//! owner of a taken address hears about it by email instead). And a link's secret is stored
//! only as a hash, used once, and expires: a reset link in an hour, a move link in a day.
//!
//! Ending sessions is the caller's: they live in the web layer's session store.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{Context, ServiceError};
use crate::auth::PasswordHasher;
use crate::domain::{AccountEmail, AccountEmailKind, Email, Job, MemeId, Password, User, UserId};
use crate::storage::{PageRequest, StorageError, TokenPurpose};

/// How long a "forgot password" link works (SPEC §3: 1 hour).
pub const RESET_LIFETIME: time::Duration = time::Duration::hours(1);
/// How long the link that moves an account to a new address works.
pub const EMAIL_CHANGE_LIFETIME: time::Duration = time::Duration::hours(24);
/// Reset emails to one address per clock hour: past it, asking again sends nothing (and
/// answers the same), so the form cannot flood someone's mailbox.
pub const RESETS_PER_ADDRESS_PER_HOUR: u64 = 3;

/// Emailed secrets are stored as SHA-256 hashes, like session ids: a copy of the store opens
/// no accounts. (128 random bits, so a fast hash is as good as a slow one.)
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh secret for a link, and its hash.
fn new_secret() -> (String, String) {
    let secret = crate::storage::new_unsubscribe_token();
    let hash = token_hash(&secret);
    (secret, hash)
}

async fn send(cx: Context<'_>, to: &Email, user: &User, kind: AccountEmailKind) -> Result<(), ServiceError> {
    let email = Job::AccountEmail(AccountEmail {
        id: MemeId::new().to_string(),
        to: to.clone(),
        username: user.username.clone(),
        kind,
    });
    cx.storage.jobs.enqueue(&email, std::time::Duration::ZERO).await?;
    cx.wake.now();
    Ok(())
}

/// The account, read afresh (a session names it, but it may have been deleted since).
pub async fn account(cx: Context<'_>, id: UserId) -> Result<User, ServiceError> {
    cx.storage.users.get(id).await?.ok_or(ServiceError::NotFound)
}

/// Whether `password` is the account's. (The caller counts failures against the sign-in
/// throttle, so guessing here is as slow as guessing at sign-in.)
pub async fn password_matches(passwords: &PasswordHasher, user: &User, password: String) -> Result<bool, ServiceError> {
    let Some(password) = Password::for_sign_in(password) else { return Ok(false) };
    Ok(passwords.verify(&password, Some(&user.password_hash)).await?)
}

/// Stores `new` as the account's password.
pub async fn set_password(
    cx: Context<'_>,
    passwords: &PasswordHasher,
    user: UserId,
    new: &Password,
) -> Result<(), ServiceError> {
    let hash = passwords.hash(new).await?;
    match cx.storage.users.set_password_hash(user, &hash).await {
        Err(StorageError::NotFound) => Err(ServiceError::NotFound),
        other => Ok(other?),
    }
}

// ---- forgot password ----

/// Emails a reset link if `email` has an account (and has not had too many this hour); does
/// nothing otherwise. The caller answers the same either way.
pub async fn request_reset(cx: Context<'_>, email: &Email, now: OffsetDateTime) -> Result<(), ServiceError> {
    let Some(user) = cx.storage.users.find_by_email(email).await? else {
        tracing::info!(event = "reset_unknown_address", "a password reset was asked for an address with no account");
        return Ok(());
    };
    let hour = now.unix_timestamp() / 3600;
    let end = OffsetDateTime::from_unix_timestamp((hour + 1) * 3600).unwrap_or(now);
    let sent = cx.storage.counters.increment(&format!("reset:user:{}:{hour}", user.id), end).await?;
    if sent > RESETS_PER_ADDRESS_PER_HOUR {
        tracing::warn!(event = "reset_capped", username = %user.username, "a password reset email was held back");
        return Ok(());
    }
    let (secret, hash) = new_secret();
    cx.storage.tokens.put(&hash, TokenPurpose::ResetPassword, user.id, "", now + RESET_LIFETIME).await?;
    send(cx, &user.email, &user, AccountEmailKind::ResetPassword { token: secret }).await?;
    tracing::info!(username = %user.username, "password reset link sent");
    Ok(())
}

/// The account a reset link is for, if the link is live (without using it up: the page with
/// the form may be fetched by a mail scanner).
pub async fn reset_link_account(
    cx: Context<'_>,
    token: &str,
    now: OffsetDateTime,
) -> Result<Option<User>, ServiceError> {
    let Some(id) = cx.storage.tokens.peek(&token_hash(token), TokenPurpose::ResetPassword, now).await? else {
        return Ok(None);
    };
    Ok(cx.storage.users.get(id).await?)
}

/// Uses the link up and sets the new password; `None` if the link is not live (used,
/// expired, unknown) or its account is gone.
pub async fn reset_password(
    cx: Context<'_>,
    passwords: &PasswordHasher,
    token: &str,
    new: &Password,
    now: OffsetDateTime,
) -> Result<Option<User>, ServiceError> {
    let Some(taken) = cx.storage.tokens.take(&token_hash(token), TokenPurpose::ResetPassword, now).await? else {
        return Ok(None);
    };
    let Some(user) = cx.storage.users.get(taken.user).await? else { return Ok(None) };
    set_password(cx, passwords, user.id, new).await?;
    tracing::info!(username = %user.username, "password reset");
    Ok(Some(user))
}

// ---- email change ----

/// Sends the link that moves `user` to `new`, or, when another account has `new`, tells that
/// account's owner instead. Either way the caller says the same ("we sent a link").
pub async fn request_email_change(
    cx: Context<'_>,
    user: &User,
    new: &Email,
    now: OffsetDateTime,
) -> Result<(), ServiceError> {
    if *new == user.email {
        return Err(ServiceError::BadInput("That is already your address.".into()));
    }
    if let Some(owner) = cx.storage.users.find_by_email(new).await? {
        return send(cx, &owner.email, &owner, AccountEmailKind::EmailChangeAttempt).await;
    }
    let (secret, hash) = new_secret();
    let expires = now + EMAIL_CHANGE_LIFETIME;
    cx.storage.tokens.put(&hash, TokenPurpose::ChangeEmail, user.id, new.as_str(), expires).await?;
    send(cx, new, user, AccountEmailKind::ChangeEmail { token: secret }).await
}

/// Why a move link did not move the account.
#[derive(Debug)]
pub enum EmailChangeRefused {
    /// Used, expired, unknown, or its account is gone.
    DeadLink,
    /// Another account took the address since the link was sent. (Whoever opens the link
    /// holds the address, so saying so tells them nothing new.)
    Taken,
}

/// Uses the link up and moves the account to the address it was sent to.
pub async fn confirm_email_change(
    cx: Context<'_>,
    token: &str,
    now: OffsetDateTime,
) -> Result<Result<User, EmailChangeRefused>, ServiceError> {
    let Some(taken) = cx.storage.tokens.take(&token_hash(token), TokenPurpose::ChangeEmail, now).await? else {
        return Ok(Err(EmailChangeRefused::DeadLink));
    };
    let Ok(email) = Email::parse(&taken.detail) else { return Ok(Err(EmailChangeRefused::DeadLink)) };
    match cx.storage.users.change_email(taken.user, &email).await {
        Ok(()) => {}
        Err(StorageError::Conflict(_)) => return Ok(Err(EmailChangeRefused::Taken)),
        Err(StorageError::NotFound) => return Ok(Err(EmailChangeRefused::DeadLink)),
        Err(e) => return Err(e.into()),
    }
    let user = cx.storage.users.get(taken.user).await?.ok_or(ServiceError::NotFound)?;
    tracing::info!(username = %user.username, "email address changed");
    Ok(Ok(user))
}

// ---- delete ----

/// Deletes the account with everything it made: its memes (each through the usual meme
/// delete, so their media, comments and notifications go the usual way), then its comments on
/// other memes, subscriptions both ways, notifications, shared templates (and their media), API
/// tokens, and the account itself. Sessions are the caller's to end.
pub async fn delete_account(cx: Context<'_>, user: &User) -> Result<(), ServiceError> {
    // Collected first, then deleted: deleting while paging could skip a page.
    let mut memes = Vec::new();
    let mut after = None;
    loop {
        let page = cx.storage.memes.list_by_creator(user, PageRequest::after(after, PageRequest::MAX_LIMIT)).await?;
        memes.extend(page.items.iter().map(|m| m.id));
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    for meme in &memes {
        cx.storage.memes.delete(*meme).await?;
    }
    let media = cx.storage.accounts.delete_account(user).await?;
    for key in &media {
        cx.storage.blobs.delete(key).await?;
    }
    if let Some(cache) = &cx.storage.media_cache
        && !media.is_empty()
    {
        let keys: Vec<String> = media.iter().map(|k| k.as_str().to_owned()).collect();
        if let Err(e) = cache.invalidate(&keys).await {
            // The objects are gone; the CDN's copies age out on their own.
            tracing::warn!(error = %e, "could not invalidate a deleted account's template media");
        }
    }
    cx.wake.now();
    tracing::info!(username = %user.username, memes = memes.len(), "account deleted");
    Ok(())
}
