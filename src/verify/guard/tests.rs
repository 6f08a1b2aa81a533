//! The guard against the addresses attackers use, in every spelling.

use std::sync::Arc;

use reqwest::dns::Resolve;

use super::*;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

/// The category of the refusal, or "allowed".
fn verdict(policy: &EgressPolicy, text: &str) -> &'static str {
    match policy.check_ip(ip(text)) {
        Ok(()) => "allowed",
        Err(blocked) => blocked.category(),
    }
}

#[test]
fn a_loopback_api_server_stays_blocked_unless_loopback_is_allowed() {
    let strict = EgressPolicy::operator().with_api_server_addresses([ip("127.0.0.1")]);
    assert_eq!(verdict(&strict, "127.0.0.1"), "api-server");
    let local = EgressPolicy::operator()
        .allow_loopback(true)
        .with_api_server_addresses([ip("127.0.0.1"), ip("10.96.0.1")]);
    assert_eq!(verdict(&local, "127.0.0.1"), "allowed");
    assert_eq!(verdict(&local, "10.96.0.1"), "api-server");
}

#[test]
fn control_plane_endpoints_are_refused_as_they_change_even_when_allowed() {
    let endpoints = ControlPlane::default();
    let policy = EgressPolicy::operator()
        .with_allowed([net("192.0.2.0/24")])
        .with_control_plane(endpoints.clone());
    assert_eq!(verdict(&policy, "192.0.2.2"), "allowed");
    endpoints.set([ip("192.0.2.2"), ip("::ffff:192.0.2.3")]);
    assert_eq!(verdict(&policy, "192.0.2.2"), "api-server");
    assert_eq!(verdict(&policy, "::ffff:192.0.2.2"), "api-server");
    assert_eq!(verdict(&policy, "192.0.2.3"), "api-server");
    // The control plane moved: the old address is an ordinary one again.
    endpoints.set([ip("192.0.2.9")]);
    assert_eq!(verdict(&policy, "192.0.2.2"), "allowed");
    assert_eq!(verdict(&policy.clone(), "192.0.2.9"), "api-server");
    // A local cluster's loopback endpoint is not refused once loopback is allowed.
    endpoints.set([ip("127.0.0.1")]);
    let local = EgressPolicy::cli().with_control_plane(endpoints.clone());
    assert_eq!(verdict(&local, "127.0.0.1"), "allowed");
    let strict = EgressPolicy::operator().with_control_plane(endpoints);
    assert_eq!(verdict(&strict, "127.0.0.1"), "api-server");
}

#[test]
fn operator_mode_table() {
    let policy = EgressPolicy::operator().with_api_server_addresses([ip("10.96.0.1")]);
    let table = [
        ("169.254.169.254", "metadata"),
        ("169.254.170.2", "metadata"),
        ("100.100.100.200", "metadata"),
        ("168.63.129.16", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("fd00:ec2::23", "metadata"),
        ("fd20:ce::254", "metadata"),
        ("fd00:c1::a9fe:a9fe", "metadata"),
        ("fe80::a9fe:a9fe", "metadata"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:0:169.254.169.254", "metadata"),
        ("::169.254.169.254", "metadata"),
        ("64:ff9b::a9fe:a9fe", "metadata"),
        ("64:ff9b:1::a9fe:a9fe", "metadata"),
        ("2002:a9fe:a9fe::1", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("127.0.0.1", "loopback"),
        ("127.5.6.7", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("10.96.0.1", "api-server"),
        ("::ffff:10.96.0.1", "api-server"),
        ("10.0.0.1", "allowed"),
        ("172.16.0.1", "allowed"),
        ("192.168.1.1", "allowed"),
        ("100.64.0.1", "allowed"),
        ("fd12:3456::1", "allowed"),
        ("8.8.8.8", "allowed"),
        ("2606:4700::1111", "allowed"),
        ("::ffff:8.8.8.8", "allowed"),
        ("64:ff9b::808:808", "allowed"),
    ];
    for (address, expected) in table {
        assert_eq!(verdict(&policy, address), expected, "{address}");
    }
}

#[test]
fn cli_mode_allows_loopback_but_not_metadata_or_link_local() {
    let policy = EgressPolicy::cli();
    for (address, expected) in [
        ("127.0.0.1", "allowed"),
        ("::1", "allowed"),
        ("::ffff:127.0.0.1", "allowed"),
        ("10.0.0.1", "allowed"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("0.0.0.0", "unspecified"),
    ] {
        assert_eq!(verdict(&policy, address), expected, "{address}");
    }
    assert_eq!(
        verdict(&EgressPolicy::operator().allow_loopback(true), "127.0.0.1"),
        "allowed"
    );
}

#[test]
fn deny_wins_over_allow_and_over_cli_trust() {
    let policy = EgressPolicy::operator()
        .with_allowed([net("10.0.0.0/8")])
        .with_denied([net("10.1.0.0/16")]);
    assert_eq!(verdict(&policy, "10.2.0.1"), "allowed");
    assert_eq!(verdict(&policy, "10.1.0.1"), "denied");
    assert_eq!(verdict(&policy, "::ffff:10.1.0.1"), "denied");

    let cli = EgressPolicy::cli().with_denied([net("127.0.0.0/8"), net("10.0.0.0/8")]);
    assert_eq!(verdict(&cli, "127.0.0.1"), "denied");
    assert_eq!(
        cli.check_ip(ip("10.0.0.1")).unwrap_err().to_string(),
        "10.0.0.1 is in the denied range 10.0.0.0/8"
    );
}

#[test]
fn allow_list_restricts_and_only_narrow_cidrs_reopen_special_ranges() {
    let policy = EgressPolicy::operator()
        .with_api_server_addresses([ip("10.96.0.1")])
        .with_allowed([
            net("10.0.0.0/8"),
            net("127.0.0.1/32"),
            net("169.254.0.0/16"),
            net("fe80::/10"),
        ]);
    for (address, expected) in [
        ("10.0.0.1", "allowed"),
        ("8.8.8.8", "not-allowed"),
        ("192.168.1.1", "not-allowed"),
        ("127.0.0.1", "allowed"),
        ("127.0.0.2", "not-allowed"),
        ("169.254.20.10", "allowed"),
        ("fe80::1", "allowed"),
        // Never re-permitted, whatever the allow list says.
        ("169.254.169.254", "metadata"),
        ("fe80::a9fe:a9fe", "metadata"),
        ("10.96.0.1", "api-server"),
    ] {
        assert_eq!(verdict(&policy, address), expected, "{address}");
    }

    // Allowing "everything" is not an explicit permission for loopback or link-local.
    let broad = EgressPolicy::operator().with_allowed([net("0.0.0.0/0"), net("::/0")]);
    assert_eq!(verdict(&broad, "8.8.8.8"), "allowed");
    assert_eq!(verdict(&broad, "127.0.0.1"), "loopback");
    assert_eq!(verdict(&broad, "169.254.1.1"), "link-local");
    assert_eq!(verdict(&broad, "::ffff:127.0.0.1"), "loopback");
}

#[test]
fn messages_name_the_address_as_given() {
    let policy = EgressPolicy::operator().with_api_server_addresses([ip("10.96.0.1")]);
    let message = |text: &str| policy.check_ip(ip(text)).unwrap_err().to_string();
    assert_eq!(
        message("169.254.169.254"),
        "169.254.169.254 is a link-local or cloud metadata address"
    );
    assert_eq!(
        message("::ffff:169.254.169.254"),
        "::ffff:169.254.169.254 is a link-local or cloud metadata address"
    );
    assert_eq!(message("fe80::1"), "fe80::1 is a link-local address");
    assert_eq!(message("127.0.0.1"), "127.0.0.1 is a loopback address");
    assert_eq!(
        message("10.96.0.1"),
        "10.96.0.1 is an address of the Kubernetes API server"
    );
}

#[test]
fn check_url_catches_every_spelling_of_an_ip_literal() {
    let policy = EgressPolicy::operator();
    for (text, expected) in [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://2852039166/", "metadata"),
        ("http://0251.0376.0251.0376/", "metadata"),
        ("http://0xa9fea9fe/", "metadata"),
        ("http://0xA9.0xFE.0xA9.0xFE/", "metadata"),
        ("http://169.254.43518/", "metadata"),
        ("http://169.254.169.254./", "metadata"),
        ("http://[::ffff:a9fe:a9fe]/", "metadata"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://127.1/", "loopback"),
        ("http://0x7f000001:8080/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://0/", "unspecified"),
        ("https://10.0.0.1:8443/healthz", "allowed"),
        ("https://example.com/healthz", "allowed"),
        // A hostname passes here; the resolver judges where it points.
        ("http://169.254.169.254.nip.io/", "allowed"),
        ("http://localhost/", "allowed"),
        ("ftp://example.com/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://127.0.0.1/", "scheme"),
        ("http://user:secret@example.com/", "userinfo"),
        ("http://user@example.com/", "userinfo"),
        ("http://:secret@example.com/", "userinfo"),
    ] {
        let got = match policy.check_url(&url(text)) {
            Ok(()) => "allowed",
            Err(blocked) => blocked.category(),
        };
        assert_eq!(got, expected, "{text}");
    }
    assert_eq!(
        policy.check_url(&url("http://2852039166/")).unwrap_err(),
        Blocked::Metadata(ip("169.254.169.254"))
    );
    assert_eq!(
        policy
            .check_url(&url("ftp://example.com/"))
            .unwrap_err()
            .to_string(),
        "scheme \"ftp\" is not allowed; use http or https"
    );
}

#[test]
fn filter_resolved_drops_refused_addresses_and_explains_when_none_remain() {
    let policy = EgressPolicy::operator();
    let at = |text: &str| SocketAddr::new(ip(text), 0);

    // What a rebinding name such as 169.254.169.254.nip.io would hand back.
    let refused = policy
        .filter_resolved("169.254.169.254.nip.io", [at("169.254.169.254")])
        .unwrap_err();
    assert_eq!(refused.category(), "metadata");
    assert_eq!(
        refused.to_string(),
        "169.254.169.254.nip.io resolves only to refused addresses: \
         169.254.169.254 is a link-local or cloud metadata address"
    );

    let kept = policy
        .filter_resolved(
            "mixed.example",
            [at("169.254.169.254"), at("10.0.0.7"), at("::1")],
        )
        .unwrap();
    assert_eq!(kept, vec![at("10.0.0.7")]);

    let both = policy
        .filter_resolved("localhost", [at("127.0.0.1"), at("::1")])
        .unwrap_err();
    assert_eq!(
        both.to_string(),
        "localhost resolves only to refused addresses: 127.0.0.1 is a loopback address \
         (and 1 more)"
    );

    let empty = policy.filter_resolved("void.example", []).unwrap_err();
    assert_eq!(empty.category(), "no-address");
}

#[tokio::test]
async fn resolver_refuses_localhost_in_operator_mode() {
    let resolver = GuardedResolver::new(Arc::new(EgressPolicy::operator()));
    let error = match resolver.resolve("localhost".parse().unwrap()).await {
        Ok(addrs) => panic!("localhost was let through: {:?}", addrs.collect::<Vec<_>>()),
        Err(error) => error,
    };
    let blocked = error.downcast_ref::<Blocked>().unwrap();
    assert_eq!(blocked.category(), "loopback");
    let message = blocked.to_string();
    assert!(
        message.starts_with("localhost resolves only to refused addresses: "),
        "{message}"
    );
    assert!(message.contains("is a loopback address"), "{message}");
}

#[tokio::test]
async fn resolver_lets_localhost_through_in_cli_mode() {
    let resolver = GuardedResolver::new(Arc::new(EgressPolicy::cli()));
    let addrs: Vec<SocketAddr> = resolver
        .resolve("localhost".parse().unwrap())
        .await
        .unwrap()
        .collect();
    assert!(!addrs.is_empty());
    assert!(
        addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 0),
        "{addrs:?}"
    );
}

/// Serves one 204 per connection and counts connections.
async fn counting_server() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut buffer = [0u8; 1024];
            let _ = socket.read(&mut buffer).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
    });
    (port, count)
}

fn client(policy: EgressPolicy) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver::new(Arc::new(policy))))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn blocked_in(error: &reqwest::Error) -> Option<Blocked> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(blocked) = current.downcast_ref::<Blocked>() {
            return Some(blocked.clone());
        }
        source = current.source();
    }
    None
}

#[tokio::test]
async fn a_name_resolving_to_a_blocked_address_is_never_connected_to() {
    use std::sync::atomic::Ordering;

    let (port, connections) = counting_server().await;
    let target = format!("http://localhost:{port}/healthz");

    let error = client(EgressPolicy::operator())
        .get(&target)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        blocked_in(&error).map(|b| b.category()),
        Some("loopback"),
        "{error:?}"
    );
    assert_eq!(connections.load(Ordering::SeqCst), 0);

    let response = client(EgressPolicy::cli())
        .get(&target)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}

/// Why `check_url` exists: hyper dials IP literals without asking the resolver.
#[tokio::test]
async fn ip_literal_urls_bypass_the_resolver_so_check_url_must_run_first() {
    use std::sync::atomic::Ordering;

    let (port, connections) = counting_server().await;
    let target = url(&format!("http://127.0.0.1:{port}/"));
    let policy = EgressPolicy::operator();

    assert_eq!(
        policy.check_url(&target).unwrap_err().category(),
        "loopback"
    );
    let response = client(policy).get(target).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(connections.load(Ordering::SeqCst), 1);
}
