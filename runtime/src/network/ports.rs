//! Port mappings as users write them (`[HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTOCOL]`) and as
//! the CNI `portMappings` capability carries them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde_json::{json, Value};

/// One published port: traffic to `host_port` (on `host_ip`, or every address) goes to
/// `container_port` of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    /// The host address to listen on; `None` means every address.
    pub host_ip: Option<IpAddr>,
    /// The port on the host side.
    pub host_port: u16,
    /// The port inside the container.
    pub container_port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

impl PortMapping {
    /// The entry of the CNI `portMappings` runtime configuration.
    pub fn to_cni(&self) -> Value {
        json!({
            "hostPort": self.host_port,
            "containerPort": self.container_port,
            "protocol": self.protocol,
            "hostIP": self.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
        })
    }
}

impl FromStr for PortMapping {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (ports, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
        if !matches!(protocol, "tcp" | "udp" | "sctp") {
            return Err(format!(
                "protocol \"{protocol}\" is not one of tcp, udp, sctp"
            ));
        }
        let (host, container_port) = ports
            .rsplit_once(':')
            .ok_or_else(|| format!("\"{text}\" is not [HOST_IP:]HOST_PORT:CONTAINER_PORT"))?;
        let (host_ip, host_port) = match host.rsplit_once(':') {
            Some((ip, port)) => {
                let ip = ip.trim_start_matches('[').trim_end_matches(']');
                let ip = ip
                    .parse()
                    .map_err(|_| format!("\"{ip}\" is not an IP address"))?;
                (Some(ip), port)
            }
            None => (None, host),
        };
        Ok(PortMapping {
            host_ip,
            host_port: parse_port(host_port)?,
            container_port: parse_port(container_port)?,
            protocol: protocol.to_string(),
        })
    }
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_ip {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:")?,
            Some(ip) => write!(f, "{ip}:")?,
            None => {}
        }
        write!(
            f,
            "{}:{}/{}",
            self.host_port, self.container_port, self.protocol
        )
    }
}

fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 => Ok(port),
        _ => Err(format!("\"{text}\" is not a port number (1-65535)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let plain: PortMapping = "8080:80".parse().unwrap();
        assert_eq!(
            plain.to_cni(),
            json!({"hostPort": 8080, "containerPort": 80, "protocol": "tcp", "hostIP": ""})
        );
        let full: PortMapping = "127.0.0.1:53:5353/udp".parse().unwrap();
        assert_eq!(full.host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!((full.host_port, full.container_port), (53, 5353));
        assert_eq!(full.protocol, "udp");
        let v6: PortMapping = "[::1]:8443:443".parse().unwrap();
        assert_eq!(v6.host_ip, Some("::1".parse().unwrap()));
        for text in ["8080:80/tcp", "127.0.0.1:53:5353/udp", "[::1]:8443:443/tcp"] {
            assert_eq!(text.parse::<PortMapping>().unwrap().to_string(), text);
        }
    }

    #[test]
    fn refuses_bad_input() {
        for bad in [
            "80",
            "0:80",
            "8080:70000",
            "x:80",
            "8080:80/icmp",
            "nope:1:2",
        ] {
            assert!(bad.parse::<PortMapping>().is_err(), "{bad}");
        }
    }
}
