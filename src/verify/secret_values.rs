//! The values of headers taken from Secrets, and of the app's injected Secrets, as the engine
//! holds them: never printed, and turned into the redactor that masks them in what apps answer.

use std::collections::BTreeMap;

use reqwest::header::HeaderValue;

use super::redact::{MASK_MIN_LEN, Redactor};

/// Header values read from Secrets, by (Secret name, key). Values are marked sensitive, so
/// `Debug` never prints them.
#[derive(Clone, Default)]
pub struct SecretValues {
    values: BTreeMap<(String, String), HeaderValue>,
    /// Values not sent but masked in what the app answers (the app's injected Secrets).
    masked: Vec<Vec<u8>>,
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.values.keys()).finish()
    }
}

impl SecretValues {
    /// Adds the value of `key` in Secret `secret`; refuses bytes that cannot be a header value.
    pub fn insert(&mut self, secret: &str, key: &str, value: &[u8]) -> Result<(), String> {
        let mut value = HeaderValue::from_bytes(trim_newline(value))
            .map_err(|_| format!("key {key} of Secret {secret} is not a valid header value"))?;
        value.set_sensitive(true);
        self.values
            .insert((secret.to_string(), key.to_string()), value);
        Ok(())
    }

    /// Adds a value that is not sent but must be masked wherever a response could echo it.
    /// Values shorter than [`MASK_MIN_LEN`] are left out: masking every "10" of a pool size
    /// would garble every message without hiding anything worth hiding.
    pub fn mask(&mut self, value: &[u8]) {
        let value = trim_newline(value);
        if value.len() >= MASK_MIN_LEN {
            self.masked.push(value.to_vec());
        }
    }

    pub(super) fn get(&self, secret: &str, key: &str) -> Option<&HeaderValue> {
        self.values.get(&(secret.to_string(), key.to_string()))
    }

    /// A redactor of every value: header values whatever their length, and the masked ones.
    pub(super) fn redactor(&self) -> Redactor {
        Redactor::new(
            self.values
                .values()
                .map(HeaderValue::as_bytes)
                .chain(self.masked.iter().map(Vec::as_slice)),
        )
    }
}

/// Files written by editors and `echo` end with a newline that is not part of a token.
fn trim_newline(value: &[u8]) -> &[u8] {
    value
        .strip_suffix(b"\r\n")
        .or_else(|| value.strip_suffix(b"\n"))
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_never_printed() {
        let mut secrets = SecretValues::default();
        secrets
            .insert("probe-token", "header", b"Bearer s3cr3t-value\n")
            .unwrap();
        let shown = format!("{secrets:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        let value = secrets.get("probe-token", "header").unwrap();
        assert_eq!(value.as_bytes(), b"Bearer s3cr3t-value");
        assert!(!format!("{value:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_secret_that_is_not_a_header_value_is_refused_without_echoing_it() {
        let mut secrets = SecretValues::default();
        let error = secrets
            .insert("probe-token", "header", b"bad\x00value")
            .unwrap_err();
        assert_eq!(
            error,
            "key header of Secret probe-token is not a valid header value"
        );
    }
}
