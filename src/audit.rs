//! Security events, logged at WARN as structured lines (`event`, a hashed account or address,
//! a count where there is one), so an attack shows up in the default log level without the log
//! holding raw addresses or account names.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

/// A stable, short pseudonym for a value: the first 12 hex digits of its SHA-256. Enough to
/// correlate lines of one attacker, not to print who they are.
pub fn fingerprint(value: &str) -> String {
    Sha256::digest(value.as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect()
}

pub fn address(ip: IpAddr) -> String {
    fingerprint(&ip.to_string())
}
