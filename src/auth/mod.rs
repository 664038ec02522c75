//! Accounts logic that is not HTTP: password hashing and sign-in throttling.

mod passwords;
mod throttle;

pub use passwords::PasswordHasher;
pub use throttle::{LoginThrottle, SignupLimit, Throttled};
