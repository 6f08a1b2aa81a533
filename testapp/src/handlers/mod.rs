//! The request handlers, one module per area of the app.

pub mod accounts;
pub mod admin;
pub mod health;
pub mod login;
pub mod pages;
pub mod redirect;

/// The current time as RFC 3339 in UTC with whole seconds, the way the seed apps print it
/// (`2025-01-15T10:30:00Z`).
pub fn timestamp() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_look_like_the_seed_examples() {
        let ts = super::timestamp();
        assert_eq!(ts.len(), "2025-01-15T10:30:00Z".len(), "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{ts}");
    }
}
