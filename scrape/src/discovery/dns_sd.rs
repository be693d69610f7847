//! `dns_sd_configs`: SRV, A, AAAA and MX lookups, resolved again every refresh
//! interval through the system resolver configuration (`hickory-resolver`).
//!
//! The record → target mapping is pure ([`srv_targets`], [`addr_targets`],
//! [`mx_targets`]); each target carries every `__meta_dns_*` label, empty where it does
//! not apply, as Prometheus does. A failed lookup keeps the name's last good group.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::RData;

use super::manager::Publisher;
use super::{ADDRESS_LABEL, DiscoveryError, LabelSet, TargetGroup};
use crate::config::{DnsRecordType, DnsSdConfig};

/// `__meta_dns_name`: the name queried.
pub const NAME_LABEL: &str = "__meta_dns_name";
/// `__meta_dns_srv_record_target`: the SRV record's target, as returned (FQDN).
pub const SRV_TARGET_LABEL: &str = "__meta_dns_srv_record_target";
/// `__meta_dns_srv_record_port`: the SRV record's port.
pub const SRV_PORT_LABEL: &str = "__meta_dns_srv_record_port";
/// `__meta_dns_mx_record_target`: the MX record's exchange.
pub const MX_TARGET_LABEL: &str = "__meta_dns_mx_record_target";
/// `__meta_dns_ns_record_target`: the NS record's target (always empty here).
pub const NS_TARGET_LABEL: &str = "__meta_dns_ns_record_target";

fn target(name: &str, address: String, srv: (&str, &str), mx: &str) -> LabelSet {
    LabelSet::from([
        (ADDRESS_LABEL.to_owned(), address),
        (NAME_LABEL.to_owned(), name.to_owned()),
        (SRV_TARGET_LABEL.to_owned(), srv.0.to_owned()),
        (SRV_PORT_LABEL.to_owned(), srv.1.to_owned()),
        (MX_TARGET_LABEL.to_owned(), mx.to_owned()),
        (NS_TARGET_LABEL.to_owned(), String::new()),
    ])
}

fn host_port(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port).to_string(),
        Err(_) => format!("{host}:{port}"),
    }
}

/// Targets of SRV records `(target, port)` found for `name`: the address is the target
/// without its final dot and the record's port.
pub fn srv_targets(name: &str, records: &[(String, u16)]) -> TargetGroup {
    TargetGroup {
        source: name.to_owned(),
        targets: records
            .iter()
            .map(|(t, port)| {
                let addr = host_port(t.trim_end_matches('.'), *port);
                target(name, addr, (t, &port.to_string()), "")
            })
            .collect(),
        labels: LabelSet::new(),
    }
}

/// Targets of A or AAAA records found for `name`, on `port`.
pub fn addr_targets(name: &str, ips: &[IpAddr], port: u16) -> TargetGroup {
    TargetGroup {
        source: name.to_owned(),
        targets: ips
            .iter()
            .map(|ip| target(name, SocketAddr::new(*ip, port).to_string(), ("", ""), ""))
            .collect(),
        labels: LabelSet::new(),
    }
}

/// Targets of MX records (exchanges) found for `name`, on `port`.
pub fn mx_targets(name: &str, exchanges: &[String], port: u16) -> TargetGroup {
    TargetGroup {
        source: name.to_owned(),
        targets: exchanges
            .iter()
            .map(|x| target(name, host_port(x.trim_end_matches('.'), port), ("", ""), x))
            .collect(),
        labels: LabelSet::new(),
    }
}

async fn lookup(
    resolver: &TokioResolver,
    cfg: &DnsSdConfig,
    name: &str,
) -> Result<TargetGroup, DiscoveryError> {
    let dns_err = |e: &dyn std::fmt::Display| DiscoveryError::Dns {
        name: name.to_owned(),
        message: e.to_string(),
    };
    let port = cfg.port.unwrap_or(0);
    let group = match cfg.record_type {
        DnsRecordType::Srv => {
            let l = resolver.srv_lookup(name).await.map_err(|e| dns_err(&e))?;
            let records: Vec<(String, u16)> = l
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::SRV(s) => Some((s.target.to_string(), s.port)),
                    _ => None,
                })
                .collect();
            srv_targets(name, &records)
        }
        DnsRecordType::A | DnsRecordType::Aaaa => {
            let l = if cfg.record_type == DnsRecordType::A {
                resolver.ipv4_lookup(name).await
            } else {
                resolver.ipv6_lookup(name).await
            }
            .map_err(|e| dns_err(&e))?;
            let ips: Vec<IpAddr> = l
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(IpAddr::V4(a.0)),
                    RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                    _ => None,
                })
                .collect();
            addr_targets(name, &ips, port)
        }
        DnsRecordType::Mx => {
            let l = resolver.mx_lookup(name).await.map_err(|e| dns_err(&e))?;
            let xs: Vec<String> = l
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::MX(m) => Some(m.exchange.to_string()),
                    _ => None,
                })
                .collect();
            mx_targets(name, &xs, port)
        }
    };
    Ok(group)
}

/// Resolves every name of `cfg` every `every` and publishes the groups.
pub(crate) async fn run(cfg: DnsSdConfig, every: Duration, out: Publisher) {
    let resolver = match TokioResolver::builder_tokio().and_then(|b| b.build()) {
        Ok(r) => r,
        Err(e) => {
            log::error!("dns_sd: cannot create a resolver: {e}");
            return;
        }
    };
    let mut groups: Vec<TargetGroup> = cfg
        .names
        .iter()
        .map(|n| TargetGroup {
            source: n.clone(),
            ..TargetGroup::default()
        })
        .collect();
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut first = true;
    loop {
        ticker.tick().await;
        let mut changed = first;
        first = false;
        for (i, name) in cfg.names.iter().enumerate() {
            match lookup(&resolver, &cfg, name).await {
                Ok(g) => {
                    changed |= groups[i] != g;
                    groups[i] = g;
                }
                Err(e) => log::warn!("dns_sd: {e}; keeping the previous targets"),
            }
        }
        // Unchanged answers are not republished.
        if changed && !out.publish(groups.clone()) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srv_records_give_host_and_port() {
        let g = srv_targets(
            "_http._tcp.example.org",
            &[("web-1.example.org.".into(), 8080), ("10.0.0.5".into(), 80)],
        );
        assert_eq!(g.source, "_http._tcp.example.org");
        assert_eq!(
            g.targets[0],
            LabelSet::from([
                ("__address__".into(), "web-1.example.org:8080".into()),
                ("__meta_dns_name".into(), "_http._tcp.example.org".into()),
                (
                    "__meta_dns_srv_record_target".into(),
                    "web-1.example.org.".into()
                ),
                ("__meta_dns_srv_record_port".into(), "8080".into()),
                ("__meta_dns_mx_record_target".into(), "".into()),
                ("__meta_dns_ns_record_target".into(), "".into()),
            ])
        );
        assert_eq!(g.targets[1]["__address__"], "10.0.0.5:80");
    }

    #[test]
    fn address_records_use_the_configured_port() {
        let g = addr_targets(
            "db.example.org",
            &["10.1.2.3".parse().unwrap(), "fd00::1".parse().unwrap()],
            9100,
        );
        assert_eq!(g.targets[0]["__address__"], "10.1.2.3:9100");
        assert_eq!(g.targets[1]["__address__"], "[fd00::1]:9100");
        assert_eq!(g.targets[1]["__meta_dns_srv_record_port"], "");
        let mx = mx_targets("example.org", &["mail.example.org.".into()], 25);
        assert_eq!(mx.targets[0]["__address__"], "mail.example.org:25");
        assert_eq!(
            mx.targets[0]["__meta_dns_mx_record_target"],
            "mail.example.org."
        );
    }
}
