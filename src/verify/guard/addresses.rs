//! Which addresses are special to the guard: cloud metadata services, unspecified, loopback and
//! link-local, and IPv4 addresses carried inside IPv6 spellings.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

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

/// The two ranges that some policies re-permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Special {
    Loopback,
    LinkLocal,
}

pub(super) fn special(ip: IpAddr) -> Option<Special> {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => Some(Special::Loopback),
        IpAddr::V4(v4) if v4.is_link_local() => Some(Special::LinkLocal),
        IpAddr::V6(v6) if v6.is_loopback() => Some(Special::Loopback),
        IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(Special::LinkLocal),
        _ => None,
    }
}

pub(super) fn is_unspecified(ip: IpAddr) -> bool {
    match ip {
        // Linux dials any 0.x.y.z as this host, not just 0.0.0.0.
        IpAddr::V4(v4) => v4.octets()[0] == 0,
        IpAddr::V6(v6) => v6.is_unspecified(),
    }
}

pub(super) fn is_metadata(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => METADATA_V4.contains(&v4),
        IpAddr::V6(v6) => METADATA_V6.contains(&v6) || AWS_SERVICES_V6.contains(&ip),
    }
}

/// The address packets really go to: an IPv4 carried in an IPv6 form is unwrapped.
pub(super) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_ipv4(v6).map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

pub(super) fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
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
