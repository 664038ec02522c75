//! The client's address, for rate limiting and logs.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};

use super::AppState;

/// The client's address. With `SKYHIGH_TRUSTED_PROXIES=N`, each of the N proxies in front
/// appended the address it was reached from to `X-Forwarded-For`, and the last one is the
/// socket's peer: so in the list "entries…, peer" the last N are proxies and the one before
/// them is the client. Entries further left are whatever the client claimed, and are ignored.
pub struct ClientIp(pub IpAddr);

/// The client's address among `forwarded` (X-Forwarded-For entries, in order) and `peer`.
pub fn client_address(forwarded: &[IpAddr], peer: IpAddr, trusted_proxies: usize) -> IpAddr {
    let mut chain: Vec<IpAddr> = forwarded.to_vec();
    chain.push(peer);
    chain[chain.len().saturating_sub(trusted_proxies + 1)]
}

impl<S> FromRequestParts<S> for ClientIp
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = AppState::from_ref(state);
        Ok(Self(client_of(&parts.extensions, &parts.headers, usize::from(app.config.trusted_proxies))))
    }
}

/// The client's address from a request's socket peer (its `ConnectInfo`) and headers.
pub fn client_of(extensions: &Extensions, headers: &HeaderMap, trusted_proxies: usize) -> IpAddr {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    client_of_headers(headers, peer, trusted_proxies)
}

/// The client's address from a request's `X-Forwarded-For` headers and its socket's peer.
fn client_of_headers(headers: &HeaderMap, peer: IpAddr, trusted_proxies: usize) -> IpAddr {
    if trusted_proxies == 0 {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .collect();
    client_address(&forwarded, peer, trusted_proxies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_is_the_entry_before_the_trusted_proxies() {
        let (client, edge, alb) = (ip("203.0.113.7"), ip("198.51.100.1"), ip("10.0.0.5"));
        // Behind CloudFront and an ALB: CloudFront appended the client, the ALB the edge.
        assert_eq!(client_address(&[client, edge], alb, 2), client);
        // A client that forges entries only adds them to the left.
        assert_eq!(client_address(&[ip("1.2.3.4"), client, edge], alb, 2), client);
        // Behind one load balancer.
        assert_eq!(client_address(&[client], alb, 1), client);
        // No proxies: the socket's peer, whatever the header says.
        assert_eq!(client_address(&[ip("1.2.3.4")], client, 0), client);
        // Fewer entries than proxies (a request that bypassed one): the leftmost there is.
        assert_eq!(client_address(&[], alb, 2), alb);
    }
}
