//! Who may use the page: only a browser on this machine that loaded it from the address printed
//! at start, with this run's token. The token keeps other local users and other sites out (they
//! cannot read it), the Host check defeats DNS rebinding (a site that points its own name at
//! 127.0.0.1 sends its own Host), and the Origin check refuses a cross-site write even before
//! the token is looked at. Pure, so every rule is tested without a server.

use std::net::SocketAddr;

use sha2::{Digest, Sha256};

/// The header a page request carries the token in.
pub const TOKEN_HEADER: &str = "x-checklist-token";

/// The Content-Security-Policy of every answer: scripts, styles and requests only from the page's
/// own origin, no inline script or style, no frames, no forms, no plugins.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// A run's secret: 32 random bytes from the operating system, as hex.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// A new token; fails only when the operating system has no randomness to give.
    pub fn generate() -> Result<Self, String> {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| {
                "the operating system gave no random bytes for the page's token".to_string()
            })?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The token as the page's address carries it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `offered` is this token. Both sides are hashed first, so the comparison's time
    /// says nothing about how much of the token was right.
    pub fn accepts(&self, offered: Option<&str>) -> bool {
        offered.is_some_and(|offered| {
            Sha256::digest(offered.as_bytes()) == Sha256::digest(self.0.as_bytes())
        })
    }
}

/// Why a request is turned away before it reaches the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The Host header is not the address the page is served on.
    WrongHost,
    /// A cross-origin request.
    WrongOrigin,
    /// No token, or not this run's.
    NoToken,
}

impl Refusal {
    /// The HTTP status: 421 Misdirected for a Host that is not ours, 403 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::WrongHost => 421,
            Refusal::WrongOrigin | Refusal::NoToken => 403,
        }
    }

    /// What the answer says.
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::WrongHost => "this dashboard answers only to the address it printed",
            Refusal::WrongOrigin => "requests from another site are refused",
            Refusal::NoToken => {
                "no valid token: open the address kubectl checklist dashboard printed"
            }
        }
    }
}

/// The Host values the page answers to: the address it listens on, and `localhost` with the
/// same port when that address is the IPv4 or IPv6 loopback; on port 80, browsers leave the
/// port out, so both are answered without it too.
pub fn hosts_for(address: SocketAddr) -> Vec<String> {
    let port = address.port();
    let mut hosts = vec![address.to_string()];
    if address.ip().is_loopback() {
        hosts.push(format!("localhost:{port}"));
    }
    if port == 80 {
        let bare: Vec<String> = hosts
            .iter()
            .filter_map(|h| h.strip_suffix(":80").map(str::to_string))
            .collect();
        hosts.extend(bare);
    }
    hosts
}

/// Whether a request with `host` and `origin` headers may be answered at all.
pub fn admit(hosts: &[String], host: Option<&str>, origin: Option<&str>) -> Result<(), Refusal> {
    let host = host.ok_or(Refusal::WrongHost)?;
    if !hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
        return Err(Refusal::WrongHost);
    }
    // Browsers send Origin on every cross-origin request and on same-origin POSTs; when it is
    // there it must be this page's own.
    if let Some(origin) = origin
        && !origin.eq_ignore_ascii_case(&format!("http://{host}"))
    {
        return Err(Refusal::WrongOrigin);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours() -> Vec<String> {
        hosts_for("127.0.0.1:3100".parse().unwrap())
    }

    #[test]
    fn only_our_own_address_and_localhost_are_answered() {
        assert_eq!(ours(), ["127.0.0.1:3100", "localhost:3100"]);
        assert_eq!(admit(&ours(), Some("127.0.0.1:3100"), None), Ok(()));
        assert_eq!(admit(&ours(), Some("LOCALHOST:3100"), None), Ok(()));
        // A rebinding site keeps its own name in Host.
        assert_eq!(
            admit(&ours(), Some("evil.example:3100"), None),
            Err(Refusal::WrongHost)
        );
        assert_eq!(
            admit(&ours(), Some("127.0.0.1:3101"), None),
            Err(Refusal::WrongHost)
        );
        assert_eq!(admit(&ours(), None, None), Err(Refusal::WrongHost));
        let v6 = hosts_for("[::1]:3100".parse().unwrap());
        assert_eq!(v6, ["[::1]:3100", "localhost:3100"]);
        let web = hosts_for("127.0.0.1:80".parse().unwrap());
        assert_eq!(
            web,
            ["127.0.0.1:80", "localhost:80", "127.0.0.1", "localhost"]
        );
    }

    #[test]
    fn a_cross_site_request_is_refused_by_its_origin() {
        let host = Some("127.0.0.1:3100");
        assert_eq!(admit(&ours(), host, Some("http://127.0.0.1:3100")), Ok(()));
        assert_eq!(
            admit(&ours(), host, Some("https://evil.example")),
            Err(Refusal::WrongOrigin)
        );
        assert_eq!(
            admit(&ours(), host, Some("null")),
            Err(Refusal::WrongOrigin)
        );
        assert_eq!(
            admit(&ours(), host, Some("http://localhost:3100")),
            Err(Refusal::WrongOrigin),
            "the origin must be the host the request was sent to"
        );
    }

    #[test]
    fn the_token_is_random_and_only_itself_is_accepted() {
        let token = Token::generate().unwrap();
        let other = Token::generate().unwrap();
        assert_eq!(token.as_str().len(), 64);
        assert_ne!(token.as_str(), other.as_str());
        assert!(token.accepts(Some(token.as_str())));
        assert!(!token.accepts(Some(other.as_str())));
        assert!(!token.accepts(Some(&token.as_str()[..63])));
        assert!(!token.accepts(Some("")));
        assert!(!token.accepts(None));
        assert_eq!(format!("{token:?}"), "Token(..)");
    }
}
