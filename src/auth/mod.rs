//! Accounts logic that is not HTTP: password hashing, sign-in throttling, and rate limits.

mod passwords;
mod rate_limit;
mod throttle;

pub use passwords::PasswordHasher;
pub use rate_limit::{ApiWriteLimit, RenderLimit};
pub use throttle::{LoginThrottle, SignupLimit, Throttled, client_key};
