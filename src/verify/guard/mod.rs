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

mod addresses;
mod control_plane;
mod resolver;
#[cfg(test)]
mod tests;

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use url::{Host, Url};

use addresses::{Special, canonical, is_metadata, is_unspecified, special};
pub use control_plane::ControlPlane;
pub(crate) use resolver::GuardedResolver;

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
    control_plane: ControlPlane,
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
            control_plane: ControlPlane::default(),
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

    /// Refuses the control plane's endpoint addresses too, as `addresses` holds them now and
    /// later (the operator keeps them current). Like the API server's other addresses they are
    /// refused whatever the allow list says, except loopback once loopback is allowed.
    pub fn with_control_plane(mut self, addresses: ControlPlane) -> Self {
        self.control_plane = addresses;
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
        let control_plane =
            !(self.allow_loopback && v.is_loopback()) && self.control_plane.contains(v);
        if control_plane || self.api_server.contains(&v) {
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
