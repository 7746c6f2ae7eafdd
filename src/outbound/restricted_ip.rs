//! Which addresses a registered webhook may not reach, and why: loopback, private, link-local, CGNAT,
//! multicast, unspecified, reserved and cloud-metadata addresses — IPv4 carried inside IPv6 (mapped, NAT64,
//! 6to4, Teredo, IPv4-compatible) judged as the IPv4 it reaches. The policy around it is
//! [`super::address_guard`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address this is, when a registered webhook may not reach it.
pub fn restricted_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => restricted_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            // IPv4 carried inside IPv6 is judged as the IPv4 address it reaches.
            Some(Embedded::One(v4)) => restricted_v4(v4),
            Some(Embedded::Teredo { server, client }) => {
                restricted_v4(client).or_else(|| restricted_v4(server))
            }
            Some(Embedded::Compatible(v4)) => {
                Some(restricted_v4(v4).unwrap_or("a reserved address (IPv4-compatible)"))
            }
            None => restricted_v6(v6),
        },
    }
}

/// An IPv4 address that an IPv6 address carries and reaches.
enum Embedded {
    /// IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4 `2002:AABB:CCDD::/48`.
    One(Ipv4Addr),
    /// Teredo `2001:0:SSSS:SSSS:…:CCCC:CCCC`: the server's address, and the client's (stored inverted).
    Teredo { server: Ipv4Addr, client: Ipv4Addr },
    /// IPv4-compatible `::a.b.c.d` (deprecated; never a public destination).
    Compatible(Ipv4Addr),
}

fn embedded_v4(ip: Ipv6Addr) -> Option<Embedded> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if let Some(mapped) = ip.to_ipv4_mapped() {
        Some(Embedded::One(mapped))
    } else if s[0] == 0x64 && s[1] == 0xff9b && (s[2..6] == [0, 0, 0, 0] || s[2] == 1) {
        Some(Embedded::One(v4(s[6], s[7])))
    } else if s[0] == 0x2002 {
        Some(Embedded::One(v4(s[1], s[2])))
    } else if s[0] == 0x2001 && s[1] == 0 {
        Some(Embedded::Teredo {
            server: v4(s[2], s[3]),
            client: v4(!s[6], !s[7]),
        })
    } else if s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        Some(Embedded::Compatible(v4(s[6], s[7])))
    } else {
        None
    }
}

fn restricted_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        Some("a cloud metadata address")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared address space (CGNAT)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if a == 0 || ip.is_broadcast() {
        Some("an unspecified address")
    } else if a >= 240
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (b & 0xfe) == 18)
    {
        Some("a reserved address")
    } else {
        None
    }
}

fn restricted_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.segments() == [0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254] {
        Some("a cloud metadata address")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("an unspecified address")
    } else if (first & 0xfe00) == 0xfc00 {
        Some("a private address (unique local)")
    } else if (first & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricted_ranges_are_named_and_public_addresses_pass() {
        let cases = [
            ("127.0.0.2", Some("loopback")),
            ("10.1.2.3", Some("a private address")),
            ("172.31.0.1", Some("a private address")),
            ("192.168.1.10", Some("a private address")),
            ("169.254.169.254", Some("a cloud metadata address")),
            ("169.254.10.1", Some("link-local")),
            ("100.64.0.1", Some("shared address space (CGNAT)")),
            ("100.100.100.200", Some("a cloud metadata address")),
            ("224.0.0.1", Some("multicast")),
            ("0.0.0.0", Some("an unspecified address")),
            ("255.255.255.255", Some("an unspecified address")),
            ("::1", Some("loopback")),
            ("::", Some("an unspecified address")),
            ("fd00:ec2::254", Some("a cloud metadata address")),
            ("fc00::1", Some("a private address (unique local)")),
            ("fe80::1", Some("link-local")),
            ("ff02::1", Some("multicast")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:10.0.0.1", Some("a private address")),
            ("64:ff9b::a9fe:a9fe", Some("a cloud metadata address")),
            ("64:ff9b:1::a00:1", Some("a private address")),
            // 6to4 of 169.254.169.254, of 127.0.0.1, of 10.0.0.1; of a public address it passes.
            ("2002:a9fe:a9fe::1", Some("a cloud metadata address")),
            ("2002:7f00:1::", Some("loopback")),
            ("2002:a00:1:1::5", Some("a private address")),
            ("2002:808:808::1", None),
            // Teredo: the client's address is stored inverted (192.168.1.1 → 3f57:fefe), the server's as is.
            (
                "2001:0:4136:e378:8000:63bf:3f57:fefe",
                Some("a private address"),
            ),
            (
                "2001:0:a9fe:a9fe:8000:63bf:f7f7:f7f7",
                Some("a cloud metadata address"),
            ),
            ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", None),
            // IPv4-compatible: judged by what it carries, and never public.
            ("::a9fe:a9fe", Some("a cloud metadata address")),
            ("::7f00:1", Some("loopback")),
            ("::808:808", Some("a reserved address (IPv4-compatible)")),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("100.128.0.1", None),
            ("2606:4700:4700::1111", None),
        ];
        for (ip, want) in cases {
            assert_eq!(restricted_ip(ip.parse().unwrap()), want, "{ip}");
        }
    }
}
