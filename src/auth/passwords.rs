//! Password hashing with argon2id.
//!
//! Parameters are the OWASP minimum for argon2id (m = 19 MiB, t = 2, p = 1): about 25 ms of one
//! core here. Hashing runs on the blocking pool behind a semaphore so a burst of sign-ins queues
//! instead of starving page requests of CPU and memory (each hash holds 19 MiB).

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::Password;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    capacity: usize,
    /// A real hash of a random password, verified against when the account does not exist, so
    /// "no such user" costs the same time as "wrong password".
    dummy_hash: Arc<String>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl PasswordHasher {
    pub fn new(concurrent: usize) -> anyhow::Result<Self> {
        let salt = SaltString::generate(&mut OsRng);
        let random = SaltString::generate(&mut OsRng);
        let dummy = argon2()
            .hash_password(random.as_str().as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("making the dummy password hash: {e}"))?
            .to_string();
        let capacity = concurrent.max(1);
        Ok(Self { permits: Arc::new(Semaphore::new(capacity)), capacity, dummy_hash: Arc::new(dummy) })
    }

    /// Hashing slots in use, and how many there are.
    pub fn slots(&self) -> (usize, usize) {
        (self.capacity - self.permits.available_permits().min(self.capacity), self.capacity)
    }

    pub async fn hash(&self, password: &Password) -> anyhow::Result<String> {
        let password = password.clone();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
        })
        .await
    }

    /// Checks `password` against `stored`; with `None` (unknown account) it checks against the
    /// dummy hash and returns false, taking the same time.
    pub async fn verify(&self, password: &Password, stored: Option<&str>) -> anyhow::Result<bool> {
        let password = password.clone();
        let known = stored.is_some();
        let hash = stored.map(str::to_owned).unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        self.run(move || {
            let parsed =
                PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored password hash is malformed: {e}"))?;
            let matches = argon2().verify_password(password.expose().as_bytes(), &parsed).is_ok();
            Ok(matches && known)
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<T> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(work).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let hasher = PasswordHasher::new(1).unwrap();
        let password = Password::parse("correct horse battery".into()).unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify(&password, Some(&hash)).await.unwrap());
        let wrong = Password::parse("wrong horse battery".into()).unwrap();
        assert!(!hasher.verify(&wrong, Some(&hash)).await.unwrap());
        assert!(!hasher.verify(&password, None).await.unwrap());
    }
}
