//! Opaque, signed pagination cursors: `base64url(position).base64url(hmac)`. A forged or
//! mangled cursor fails the signature check and is a 400, never a query.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::error::AppError;
use crate::storage::Cursor;

/// Bytes of the HMAC-SHA256 tag kept in a cursor: 128 bits, as unguessable as the key.
const TAG_LEN: usize = 16;

/// The signing key is shared by every instance (kept in storage, see `SettingsStore`).
pub struct CursorSigner {
    key: Vec<u8>,
}

fn bad_cursor() -> AppError {
    AppError::BadRequest("That page link is out of date or malformed. Start again from the first page.".into())
}

impl CursorSigner {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable_mac());
        mac.update(payload);
        mac
    }

    fn tag(&self, payload: &[u8]) -> [u8; TAG_LEN] {
        let full = self.mac(payload).finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }

    pub fn sign(&self, cursor: &Cursor) -> String {
        let tag = self.tag(cursor.0.as_bytes());
        format!("{}.{}", URL_SAFE_NO_PAD.encode(cursor.0.as_bytes()), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The tag must be all `TAG_LEN` bytes, compared in constant time: a shorter one is refused
    /// (hmac's `verify_truncated_left` accepts any prefix, so a one-byte tag would be forged in
    /// 256 tries).
    pub fn verify(&self, text: &str) -> Result<Cursor, AppError> {
        let forged = || {
            tracing::warn!(event = "forged_cursor", length = text.len(), "a cursor failed its signature check");
            bad_cursor()
        };
        let (payload, tag) = text.split_once('.').ok_or_else(forged)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| forged())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| forged())?;
        let expected = self.tag(&payload);
        if tag.len() != TAG_LEN || !bool::from(expected.ct_eq(tag.as_slice())) {
            return Err(forged());
        }
        String::from_utf8(payload).map(Cursor).map_err(|_| forged())
    }

    /// Verifies an optional `?cursor=` value.
    pub fn verify_opt(&self, text: Option<&str>) -> Result<Option<Cursor>, AppError> {
        text.filter(|t| !t.is_empty()).map(|t| self.verify(t)).transpose()
    }
}

/// HMAC accepts keys of any length, so `new_from_slice` cannot fail; this only satisfies the type.
fn unreachable_mac() -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(b"fallback-key").expect("HMAC takes any key length")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_cursor_verifies_and_a_tampered_one_does_not() {
        let signer = CursorSigner::new(b"k".repeat(32));
        let signed = signer.sign(&Cursor("01abc".into()));
        assert_eq!(signer.verify(&signed).unwrap(), Cursor("01abc".into()));
        let forged = format!("{}.{}", URL_SAFE_NO_PAD.encode("01abd"), signed.split_once('.').unwrap().1);
        assert!(signer.verify(&forged).is_err());
        assert!(signer.verify("garbage").is_err());
        assert!(CursorSigner::new(b"other".to_vec()).verify(&signed).is_err());
    }

    #[test]
    fn a_tag_cut_short_is_refused_even_when_its_bytes_match() {
        let signer = CursorSigner::new(b"k".repeat(32));
        let signed = signer.sign(&Cursor("01abc".into()));
        let (payload, tag) = signed.split_once('.').unwrap();
        let tag = URL_SAFE_NO_PAD.decode(tag).unwrap();
        for keep in [0, 1, 2, 8, 15] {
            let cut = format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&tag[..keep]));
            assert!(signer.verify(&cut).is_err(), "a {keep}-byte prefix of the real tag was accepted");
        }
        let longer = format!("{payload}.{}", URL_SAFE_NO_PAD.encode([tag.as_slice(), &[0]].concat()));
        assert!(signer.verify(&longer).is_err());
    }
}
