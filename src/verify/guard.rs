//! The egress guard: where verification requests may go.
//!
//! A checklist names a URL; in operator mode that URL comes from whoever can write the resource,
//! and the operator's pod can reach things the author should not: the cloud metadata service
//! (node credentials), the Kubernetes API server (with the operator's service account), and the
//! pod's own loopback. [`EgressPolicy`] decides, purely, whether one address may be dialled;
//! [`GuardedResolver`] applies it to every address a name resolves to.
//!
//! # The contract for the HTTP client
//!
//! The guard only holds if the client is built and used like this:
//!
//! 1. `reqwest::Client::builder().dns_resolver(Arc::new(GuardedResolver::new(policy.clone())))`:
//!    hyper connects only to the addresses the resolver returns, so the address judged is the
//!    address dialled and there is no second lookup a DNS-rebinding server could answer
//!    differently.
//! 2. [`EgressPolicy::check_url`] on every URL before it is sent: hyper's connector parses IP
//!    literal hosts itself and never asks the resolver, so `http://169.254.169.254/` (or any
//!    spelling the `url` crate normalises to it) is only caught there.
//! 3. `.no_proxy()`: a proxy (including one from `HTTP_PROXY` in the environment) would resolve
//!    and connect on our behalf, out of the resolver's sight.
//! 4. `redirect::Policy::none()`, or a custom policy that calls `check_url` on every hop: a
//!    redirect to an IP literal would otherwise skip both checks.
//!
//! A refusal raised by the resolver travels inside reqwest's error chain as a [`Blocked`]; walk
//! `source()` and downcast to report it as itself.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// IPv4 addresses of cloud instance-metadata and platform services. Most live in link-local
/// space, but are listed anyway so that an allow CIDR over link-local never re-permits them; the
/// others sit in ranges a verification target may legitimately use (shared address space,
/// public, IETF protocol assignments), so only the exact address is refused.
const METADATA_V4: [Ipv4Addr; 8] = [
    // AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean, IBM, Hetzner, ...: the common IMDS.
    Ipv4Addr::new(169, 254, 169, 254),
    // AWS ECS task-role credentials.
    Ipv4Addr::new(169, 254, 170, 2),
    // AWS EKS Pod Identity agent (hands out credentials).
    Ipv4Addr::new(169, 254, 170, 23),
    // Tencent Cloud.
    Ipv4Addr::new(169, 254, 0, 23),
    // Scaleway.
    Ipv4Addr::new(169, 254, 42, 42),
    // Alibaba Cloud, inside 100.64.0.0/10 (CGNAT), which stays allowed.
    Ipv4Addr::new(100, 100, 100, 200),
    // Azure WireServer: a public address reachable from every Azure VM; serves extension
    // configuration including protected settings.
    Ipv4Addr::new(168, 63, 129, 16),
    // Oracle Cloud Classic.
    Ipv4Addr::new(192, 0, 0, 192),
];

/// IPv6 addresses of metadata services. They sit in unique-local space (private, otherwise
/// allowed), except OpenStack's, which sits in link-local.
const METADATA_V6: [Ipv6Addr; 6] = [
    // GCP (IPv6-only instances).
    Ipv6Addr::new(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254),
    // Oracle Cloud Infrastructure.
    Ipv6Addr::new(0xfd00, 0xc1, 0, 0, 0, 0, 0xa9fe, 0xa9fe),
    // Scaleway.
    Ipv6Addr::new(0xfd00, 0x42, 0, 0, 0, 0, 0, 0x42),
    // Akamai / Linode.
    Ipv6Addr::new(0xfd00, 0xa9fe, 0xa9fe, 0, 0, 0, 0, 1),
    // Alibaba Cloud.
    Ipv6Addr::new(0xfd00, 0x100, 0, 0, 0, 0, 0x100, 0x200),
    // OpenStack.
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0xa9fe, 0xa9fe),
];

/// AWS serves IMDS (fd00:ec2::254), DNS, NTP and EKS Pod Identity (fd00:ec2::23) from this block
/// and adds services to it over time; refusing the block keeps up without a list to maintain.
const AWS_SERVICES_V6: IpNet = IpNet::new_assert(
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0)),
    32,
);

/// Where verification requests may go. Build one with [`EgressPolicy::operator`] or
/// [`EgressPolicy::cli`] and refine it with the `with_*` methods.
///
/// Order of decision for one address (after unwrapping an IPv4 carried in IPv6):
/// unspecified, multicast, broadcast, metadata and API-server addresses are always refused; then
/// a denied CIDR refuses; then, if an allow list is set, anything outside it is refused; then
/// loopback is refused unless loopback is allowed or an allow CIDR lying within loopback covers
/// it, and link-local likewise (an allow CIDR within link-local). Everything else, private
/// ranges included (in-cluster Services live there), is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressPolicy {
    allow_loopback: bool,
    api_server: Vec<IpAddr>,
    allowed: Vec<IpNet>,
    denied: Vec<IpNet>,
}

impl Default for EgressPolicy {
    /// The strict policy: [`EgressPolicy::operator`].
    fn default() -> Self {
        Self::operator()
    }
}

impl EgressPolicy {
    /// Operator mode: refuses link-local and cloud metadata addresses, loopback, unspecified,
    /// multicast and broadcast addresses, and (once given) the API server's addresses. Private
    /// addresses stay allowed: in-cluster Services are the usual targets.
    pub fn operator() -> Self {
        Self {
            allow_loopback: false,
            api_server: Vec::new(),
            allowed: Vec::new(),
            denied: Vec::new(),
        }
    }

    /// CLI mode: the person running it is trusted, so loopback and private addresses are allowed;
    /// link-local is still refused unless an allow CIDR within link-local covers it, and metadata
    /// addresses are refused always.
    pub fn cli() -> Self {
        Self::operator().allow_loopback(true)
    }

    /// Whether loopback addresses (127.0.0.0/8, ::1) may be reached.
    pub fn allow_loopback(mut self, allow: bool) -> Self {
        self.allow_loopback = allow;
        self
    }

    /// Adds the Kubernetes API server's addresses (the `kubernetes` Service's ClusterIP, its
    /// endpoints, `KUBERNETES_SERVICE_HOST`); they are refused whatever the allow list says.
    ///
    /// Loopback addresses are skipped once loopback is allowed: that is a development cluster
    /// on this machine whose user opted in to loopback, and blocking 127.0.0.1 for the API
    /// server would block every local app too. The guard is by address, not by port.
    pub fn with_api_server_addresses(mut self, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        let allow_loopback = self.allow_loopback;
        self.api_server.extend(
            ips.into_iter()
                .map(canonical)
                .filter(|ip| !(allow_loopback && ip.is_loopback())),
        );
        self
    }

    /// Adds allowed CIDRs. Once any is set, only destinations inside them are allowed. They may
    /// re-permit loopback or link-local, but only a CIDR lying entirely within that range does
    /// (`127.0.0.1/32`, `169.254.20.0/24`), so a broad `0.0.0.0/0` never opens them by accident.
    /// Metadata and API-server addresses are never re-permitted.
    pub fn with_allowed(mut self, cidrs: impl IntoIterator<Item = IpNet>) -> Self {
        self.allowed.extend(cidrs);
        self
    }

    /// Adds denied CIDRs; a destination inside one is refused whatever else allows it.
    pub fn with_denied(mut self, cidrs: impl IntoIterator<Item = IpNet>) -> Self {
        self.denied.extend(cidrs);
        self
    }

    /// Decides whether `ip` may be dialled. An IPv4 carried in IPv6 (mapped `::ffff:a.b.c.d`,
    /// compatible `::a.b.c.d`, translated, NAT64 `64:ff9b::/96` and `64:ff9b:1::/96`, 6to4) is
    /// judged as that IPv4, because that is where the packets end up. Errors name `ip` as given.
    pub(crate) fn check_ip(&self, ip: IpAddr) -> Result<(), Blocked> {
        let v = canonical(ip);
        if is_unspecified(v) {
            return Err(Blocked::Unspecified(ip));
        }
        if v.is_multicast() {
            return Err(Blocked::Multicast(ip));
        }
        if matches!(v, IpAddr::V4(v4) if v4.is_broadcast()) {
            return Err(Blocked::Broadcast(ip));
        }
        if is_metadata(v) {
            return Err(Blocked::Metadata(ip));
        }
        if self.api_server.contains(&v) {
            return Err(Blocked::ApiServer(ip));
        }
        // The raw form is matched too, so a deny written in IPv6 notation still bites.
        if let Some(cidr) = self
            .denied
            .iter()
            .find(|net| net.contains(&v) || net.contains(&ip))
        {
            return Err(Blocked::Denied { ip, cidr: *cidr });
        }
        // Only the unwrapped form is matched: an allowed `::/0` must not admit ::ffff:127.0.0.1.
        if !self.allowed.is_empty() && !self.allowed.iter().any(|net| net.contains(&v)) {
            return Err(Blocked::NotAllowed(ip));
        }
        match special(v) {
            Some(Special::Loopback) if !self.allow_loopback && !self.explicitly_allowed(v) => {
                Err(Blocked::Loopback(ip))
            }
            Some(Special::LinkLocal) if !self.explicitly_allowed(v) => Err(Blocked::LinkLocal(ip)),
            _ => Ok(()),
        }
    }

    /// Judges a URL before any request is sent: the scheme must be http or https, userinfo is
    /// refused (it would end up in logs and status), and an IP-literal host is judged by
    /// [`check_ip`](Self::check_ip). The `url` crate has already normalised decimal, octal and hex
    /// IPv4 spellings to an IPv4 host. Hostnames pass here; [`GuardedResolver`] judges what they
    /// resolve to.
    pub(crate) fn check_url(&self, url: &Url) -> Result<(), Blocked> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(Blocked::Scheme(other.to_owned())),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Blocked::Userinfo);
        }
        match url.host() {
            Some(Host::Ipv4(v4)) => self.check_ip(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => self.check_ip(IpAddr::V6(v6)),
            Some(Host::Domain(_)) => Ok(()),
            None => Err(Blocked::NoHost),
        }
    }

    /// Keeps the addresses `name` resolved to that may be dialled, in order. Fails when none
    /// remain, naming the first refused address and why.
    pub(crate) fn filter_resolved(
        &self,
        name: &str,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Blocked> {
        let mut kept = Vec::new();
        let mut refused = Vec::new();
        for addr in addrs {
            match self.check_ip(addr.ip()) {
                Ok(()) => kept.push(addr),
                Err(blocked) => refused.push(blocked),
            }
        }
        if !kept.is_empty() {
            return Ok(kept);
        }
        let others = refused.len().saturating_sub(1);
        match refused.into_iter().next() {
            Some(first) => Err(Blocked::Resolved {
                name: name.to_owned(),
                reason: Box::new(first),
                others,
            }),
            None => Err(Blocked::NoAddress {
                name: name.to_owned(),
            }),
        }
    }

    /// Whether an allow CIDR that lies wholly within `ip`'s special range covers `ip`.
    fn explicitly_allowed(&self, ip: IpAddr) -> bool {
        let range = special(ip);
        self.allowed.iter().any(|net| {
            net.contains(&ip)
                && special(net.network()) == range
                && special(net.broadcast()) == range
        })
    }
}

/// Why a destination is refused. `Display` is a short message for a status or the CLI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Blocked {
    /// A cloud metadata or platform-service address.
    #[error("{0} is a link-local or cloud metadata address")]
    Metadata(IpAddr),
    /// A link-local address (169.254.0.0/16, fe80::/10).
    #[error("{0} is a link-local address")]
    LinkLocal(IpAddr),
    /// An address of the Kubernetes API server.
    #[error("{0} is an address of the Kubernetes API server")]
    ApiServer(IpAddr),
    /// A loopback address (127.0.0.0/8, ::1).
    #[error("{0} is a loopback address")]
    Loopback(IpAddr),
    /// An unspecified address (0.0.0.0/8, ::), which the kernel dials as this host.
    #[error("{0} is an unspecified address")]
    Unspecified(IpAddr),
    /// A multicast address.
    #[error("{0} is a multicast address")]
    Multicast(IpAddr),
    /// The IPv4 limited broadcast address.
    #[error("{0} is the broadcast address")]
    Broadcast(IpAddr),
    /// Inside a denied CIDR.
    #[error("{ip} is in the denied range {cidr}")]
    Denied {
        /// The refused address.
        ip: IpAddr,
        /// The denied CIDR it falls in.
        cidr: IpNet,
    },
    /// Outside every allowed CIDR.
    #[error("{0} is outside the allowed ranges")]
    NotAllowed(IpAddr),
    /// A scheme other than http or https.
    #[error("scheme {0:?} is not allowed; use http or https")]
    Scheme(String),
    /// The URL carries a user name or password.
    #[error("URLs with a user name or password are refused; send credentials in a header")]
    Userinfo,
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
    /// A name resolved to no address at all.
    #[error("{name} resolved to no address")]
    NoAddress {
        /// The name looked up.
        name: String,
    },
    /// Every address a name resolved to was refused.
    #[error("{name} resolves only to refused addresses: {reason}{}", and_more(*others))]
    Resolved {
        /// The name looked up.
        name: String,
        /// Why the first address was refused.
        reason: Box<Blocked>,
        /// How many more addresses were refused.
        others: usize,
    },
}

impl Blocked {
    /// A short, stable name for the kind of refusal: a metric label and an Event reason. A
    /// refused resolution reports the category of its first refused address.
    pub fn category(&self) -> &'static str {
        match self {
            Blocked::Metadata(_) => "metadata",
            Blocked::LinkLocal(_) => "link-local",
            Blocked::ApiServer(_) => "api-server",
            Blocked::Loopback(_) => "loopback",
            Blocked::Unspecified(_) => "unspecified",
            Blocked::Multicast(_) => "multicast",
            Blocked::Broadcast(_) => "broadcast",
            Blocked::Denied { .. } => "denied",
            Blocked::NotAllowed(_) => "not-allowed",
            Blocked::Scheme(_) => "scheme",
            Blocked::Userinfo => "userinfo",
            Blocked::NoHost => "no-host",
            Blocked::NoAddress { .. } => "no-address",
            Blocked::Resolved { reason, .. } => reason.category(),
        }
    }
}

fn and_more(others: usize) -> String {
    if others == 0 {
        String::new()
    } else {
        format!(" (and {others} more)")
    }
}

/// A reqwest DNS resolver that resolves with the system resolver and drops every address the
/// policy refuses. reqwest connects only to what it returns, so the address checked is the
/// address connected to.
#[derive(Debug, Clone)]
pub(crate) struct GuardedResolver {
    policy: Arc<EgressPolicy>,
}

impl GuardedResolver {
    /// A resolver that applies `policy`.
    pub fn new(policy: Arc<EgressPolicy>) -> Self {
        Self { policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let host = name.as_str();
            // tokio's `net` feature is not named in Cargo.toml; reqwest enables it for its own
            // connector, so it is always present where this resolver can be used. Port 0 lets
            // reqwest fill in the URL's port.
            let resolved = tokio::net::lookup_host((host, 0)).await?;
            let kept = policy.filter_resolved(host, resolved)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The two ranges that some policies re-permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    Loopback,
    LinkLocal,
}

fn special(ip: IpAddr) -> Option<Special> {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => Some(Special::Loopback),
        IpAddr::V4(v4) if v4.is_link_local() => Some(Special::LinkLocal),
        IpAddr::V6(v6) if v6.is_loopback() => Some(Special::Loopback),
        IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(Special::LinkLocal),
        _ => None,
    }
}

fn is_unspecified(ip: IpAddr) -> bool {
    match ip {
        // Linux dials any 0.x.y.z as this host, not just 0.0.0.0.
        IpAddr::V4(v4) => v4.octets()[0] == 0,
        IpAddr::V6(v6) => v6.is_unspecified(),
    }
}

fn is_metadata(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => METADATA_V4.contains(&v4),
        IpAddr::V6(v6) => METADATA_V6.contains(&v6) || AWS_SERVICES_V6.contains(&ip),
    }
}

/// The address packets really go to: an IPv4 carried in an IPv6 form is unwrapped.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_ipv4(v6).map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let o = v6.octets();
    let last32 = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match v6.segments() {
        // Mapped ::ffff:a.b.c.d: a dual-stack socket dials the IPv4 itself.
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(last32),
        // Compatible ::a.b.c.d (deprecated, RFC 4291); :: and ::1 are IPv6's own.
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => Some(last32),
        // SIIT translated ::ffff:0:a.b.c.d (RFC 2765).
        [0, 0, 0, 0, 0xffff, 0, _, _] => Some(last32),
        // NAT64 well-known prefix (RFC 6052), and local-use (RFC 8215) as deployed with a /96.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] | [0x64, 0xff9b, 1, _, _, _, _, _] => Some(last32),
        // 6to4 2002:AABB:CCDD::/48 (RFC 3056).
        [0x2002, hi, lo, _, _, _, _, _] => {
            Some(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
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
                    .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
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
}
