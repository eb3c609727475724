//! Sign-in rate limiting, per account and client address, per address, and per account from
//! anywhere. Each attempt is reserved (counted) before its password is hashed, so the limits hold
//! however many attempts arrive at once; only a success takes it back. Attempts are kept in the
//! database, so a restart does not reset them and several server processes on one database share
//! them. Times come from the server's clock (`AppState.clock`), so tests can move them.
//!
//! The limits are chosen so that a whole center behind one NAT address is not locked out by one
//! clerk's typos: one account from one address counts at most [`MAX_ACCOUNT_FAILURES`] towards the
//! address's much looser [`MAX_ADDRESS_FAILURES`].

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::problem::ApiError;
use super::store::{LoginLimits, Reservation};

/// Failures of one account from one client address within [`WINDOW_SECS`] before that account is
/// refused from that address.
pub const MAX_ACCOUNT_FAILURES: usize = 5;
/// Failures from one client address within [`WINDOW_SECS`], whatever the account, before the
/// address is refused: six accounts fully locked, or a spray over many staff ids.
pub const MAX_ADDRESS_FAILURES: usize = 30;
/// Failures of one account from all addresses together before it is refused everywhere (someone
/// guessing from many addresses).
pub const MAX_ACCOUNT_FAILURES_ANYWHERE: usize = 20;
pub const WINDOW_SECS: i64 = 15 * 60;

/// The client's address as the rate limit counts it: the peer of the connection, or, behind a
/// trusted reverse proxy, what the proxy put last in `X-Forwarded-For`. IPv6 by /64, since one
/// client holds a whole /64. `"-"` when unknown (the router driven without a socket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAddress(pub String);

/// Set by [`trust_forwarded_for`]: the client address the reverse proxy reported.
#[derive(Debug, Clone, Copy)]
struct Forwarded(IpAddr);

impl ClientAddress {
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(v4.to_string()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(v4.to_string()),
                None => {
                    let s = v6.segments();
                    Self(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
                }
            },
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(Forwarded(ip)) = parts.extensions.get::<Forwarded>() {
            return Ok(Self::of(*ip));
        }
        Ok(match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => Self::of(addr.ip()),
            None => Self("-".into()),
        })
    }
}

/// Middleware for a server behind a reverse proxy (`server.trust_forwarded_for`): takes the
/// client address from the last `X-Forwarded-For` entry, the one the proxy itself added. Only
/// for a server that nobody but the proxy can reach.
pub async fn trust_forwarded_for(mut request: Request, next: Next) -> Response {
    let last = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    if let Some(ip) = last {
        request.extensions_mut().insert(Forwarded(ip));
    }
    next.run(request).await
}

/// Minutes until a refused client may try again: the limit-th newest failure must leave the
/// window first.
fn wait_minutes(failures: &[i64], limit: usize, now: i64) -> Option<i64> {
    let at = *failures.get(limit.checked_sub(1)?)?;
    let seconds = at + WINDOW_SECS - now;
    Some(((seconds + 59) / 60).max(1))
}

/// A sign-in attempt counted before its password is checked.
#[derive(Debug)]
pub struct Attempt(i64);

/// Counts a sign-in attempt, or refuses it when the account or the address has failed too often
/// lately. The attempt stays counted as a failure unless [`succeeded`] takes it back.
pub async fn reserve(state: &AppState, staff_id: &str, addr: &ClientAddress) -> Result<Attempt, ApiError> {
    let now = state.clock.now().timestamp();
    let limits = LoginLimits {
        account: MAX_ACCOUNT_FAILURES,
        address: MAX_ADDRESS_FAILURES,
        anywhere: MAX_ACCOUNT_FAILURES_ANYWHERE,
    };
    match super::service::sign_in::reserve_attempt(
        state.store.as_ref(),
        staff_id,
        &addr.0,
        now,
        now - WINDOW_SECS,
        limits,
    )
    .await?
    {
        Reservation::Reserved(id) => Ok(Attempt(id)),
        Reservation::Refused(failures) => {
            let account = wait_minutes(&failures.account, MAX_ACCOUNT_FAILURES, now);
            let address = wait_minutes(&failures.address, MAX_ADDRESS_FAILURES, now);
            let anywhere = wait_minutes(&failures.anywhere, MAX_ACCOUNT_FAILURES_ANYWHERE, now);
            let minutes = account.into_iter().chain(address).chain(anywhere).max().unwrap_or(1);
            tracing::warn!(addr = %addr.0, account_limited = account.is_some() || anywhere.is_some(), "sign-in refused: too many failed attempts");
            Err(ApiError::too_many_attempts(minutes))
        }
    }
}

/// The attempt succeeded: it and the account's earlier failures are forgotten.
pub async fn succeeded(state: &AppState, attempt: Attempt, staff_id: &str) -> Result<(), ApiError> {
    state.store.settle_login_attempt(attempt.0, staff_id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_until_the_limit_th_newest_failure_expires() {
        let now = 10_000;
        assert_eq!(wait_minutes(&[now - 10; 4], 5, now), None);
        assert_eq!(wait_minutes(&[now - 10, now - 20, now - 30, now - 40, now - 60], 5, now), Some(14));
        assert_eq!(wait_minutes(&[now - 10, now - 20, now - 30, now - 40, now - WINDOW_SECS + 1], 5, now), Some(1));
        assert_eq!(wait_minutes(&[now; 5], 0, now), None);
    }

    #[test]
    fn addresses_count_by_host_and_ipv6_by_prefix() {
        assert_eq!(ClientAddress::of("192.0.2.7".parse().unwrap()).0, "192.0.2.7");
        assert_eq!(ClientAddress::of("2001:db8:1:2:3:4:5:6".parse().unwrap()).0, "2001:db8:1:2::/64");
        assert_eq!(ClientAddress::of("::ffff:192.0.2.7".parse().unwrap()).0, "192.0.2.7");
    }
}
