use time::OffsetDateTime;

use super::{Email, UserId, Username};

/// An account as stored. The password hash is an argon2 PHC string; it is never shown anywhere.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: Username,
    pub email: Email,
    pub password_hash: String,
    pub created_at: OffsetDateTime,
    /// The owner opened the confirmation link sent to `email`. Until then the account can sign
    /// in but not post, and no email but the confirmation goes to the address.
    pub email_verified: bool,
    /// The email service reported the address as bouncing or complaining: nothing is sent to
    /// it any more (until the address is changed).
    pub email_suppressed: bool,
}

impl User {
    /// Whether notification emails may be sent to this account's address.
    pub fn accepts_email(&self) -> bool {
        self.email_verified && !self.email_suppressed
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("password_hash", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("email_verified", &self.email_verified)
            .field("email_suppressed", &self.email_suppressed)
            .finish()
    }
}
