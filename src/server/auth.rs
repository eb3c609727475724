//! Sign-in and sessions: Argon2id password hashes, random 256-bit bearer tokens of which the
//! server keeps only a SHA-256, and an extractor that every protected route takes.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Argon2, PasswordHash};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::AppState;
use super::problem::ApiError;
use crate::domain::center::Window;
use crate::domain::handover::DutyState;
use crate::domain::staff::Staff;

/// Argon2id with 7 MiB and 5 passes: one of OWASP's equivalent recommended settings, chosen over
/// the 19 MiB default because the standalone terminal verifies in-process on low-memory PCs.
fn argon2() -> Argon2<'static> {
    let params = argon2::Params::new(7 * 1024, 5, 1, None).expect("valid Argon2 parameters");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 with default parameters accepts any password")
        .to_string()
}

/// Checks a password against a stored hash. A missing account is checked against a dummy hash
/// so that "no such staff id" and "wrong password" take the same time.
pub fn verify_password(password: &str, stored_hash: Option<&str>) -> bool {
    let mut memory = Vec::new();
    verify_with_memory(password, stored_hash, &mut memory)
}

/// What a missing account's password is checked against, made once per process on first use
/// (a hash of its own: another 7 MiB and as long as a check). A server for many terminals makes
/// it at start ([`prepare_dummy_hash`]), so that even its first "no such staff id" takes as long
/// as a wrong password; the standalone terminal's own server only if a sign-in needs it.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password"))
}

/// Makes the missing account's hash now, off the async workers (see [`dummy_hash`]).
pub fn prepare_dummy_hash() {
    tokio::task::spawn_blocking(dummy_hash);
}

/// What a server does with a password check's working memory once the check is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashMemory {
    /// Kept for the next check, one per permit ([`CONCURRENT_HASHES`]): a server for many
    /// terminals checks sign-ins all day, and memory stays flat however many come.
    Kept,
    /// Given back to the system: the standalone terminal's own server checks its clerk's
    /// sign-in at start and then rarely, and 7 MiB kept would stay in the terminal all day.
    Released,
}

/// [`verify_password`] with the caller's Argon2 working memory, grown to what the hash needs and
/// kept for the next check (the allocator would otherwise keep a freed 7 MiB per thread).
fn verify_with_memory(password: &str, stored_hash: Option<&str>, memory: &mut Vec<argon2::Block>) -> bool {
    let hash_text = stored_hash.unwrap_or_else(|| dummy_hash());
    let Ok(hash) = PasswordHash::new(hash_text) else {
        tracing::error!("a stored password hash does not parse");
        return false;
    };
    matches_hash(password, &hash, memory) && stored_hash.is_some()
}

/// What `PasswordVerifier::verify_password` does, but in `memory`: the parameters, salt and
/// algorithm come from the stored hash itself; the outputs are compared in constant time.
fn matches_hash(password: &str, hash: &PasswordHash<'_>, memory: &mut Vec<argon2::Block>) -> bool {
    /// Refuse to work on a stored hash that asks for more than this (ours ask for 7 MiB).
    const MAX_BLOCKS: usize = 64 * 1024;
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else { return false };
    let Ok(params) = argon2::Params::try_from(hash) else { return false };
    let Ok(algorithm) = argon2::Algorithm::try_from(hash.algorithm) else { return false };
    let version = match hash.version.map(argon2::Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let blocks = params.block_count();
    if blocks > MAX_BLOCKS {
        tracing::error!(blocks, "a stored password hash asks for too much memory");
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    if memory.len() < blocks {
        memory.resize(blocks, argon2::Block::default());
    }
    let hasher = Argon2::new(algorithm, version, params);
    let computed = argon2::password_hash::Output::init_with(expected.len(), |out| {
        hasher.hash_password_into_with_memory(password.as_bytes(), salt, out, &mut memory[..blocks]).map_err(|e| {
            tracing::error!(error = %e, "password hash not computed");
            argon2::password_hash::Error::Crypto
        })
    });
    // `Output`'s equality is constant-time.
    computed.is_ok_and(|computed| computed == expected)
}

/// Password checks running at once. Each Argon2 hash takes 7 MiB and a CPU for a while; more at
/// once would only grow memory (and slow each down) without answering sooner. Waiting attempts
/// hold no more than their request.
pub const CONCURRENT_HASHES: usize = 2;
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(CONCURRENT_HASHES);
/// The working memory of the hashes, one per permit, reused: memory stays flat however many
/// attempts come.
static MEMORY: std::sync::Mutex<Vec<Vec<argon2::Block>>> = std::sync::Mutex::new(Vec::new());

/// [`verify_password`] off the async workers, at most [`CONCURRENT_HASHES`] at a time, in
/// reused working memory or in its own (see [`HashMemory`]).
pub async fn verify_password_bounded(password: String, stored_hash: Option<String>, kept: HashMemory) -> Option<bool> {
    let permit = HASHING.acquire().await.ok()?;
    let ok = tokio::task::spawn_blocking(move || match kept {
        HashMemory::Kept => {
            let mut memory = MEMORY.lock().ok().and_then(|mut pool| pool.pop()).unwrap_or_default();
            let ok = verify_with_memory(&password, stored_hash.as_deref(), &mut memory);
            if let Ok(mut pool) = MEMORY.lock() {
                pool.push(memory);
            }
            ok
        }
        // Freed as soon as the check is done.
        HashMemory::Released => verify_with_memory(&password, stored_hash.as_deref(), &mut Vec::new()),
    })
    .await
    .ok();
    drop(permit);
    ok
}

/// A fresh bearer token: 32 random bytes, hex.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The signed-in staff member of a request. Taking this as a handler argument is what makes a
/// route require sign-in. The access check (`server::access`) authenticates every request of a
/// route that is not public and leaves this in the request; a handler of a route the access table
/// does not cover is refused, never served unchecked.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub staff: Staff,
    /// The caller's center, from their staff row (never from anything the client sends); `None`
    /// for the county. Every read and write of center data is to be scoped by it (issue #18).
    pub center: Option<String>,
    pub token_hash: String,
    /// The center a county admin acts for on a county route (`/api/v1/centers/{center}/...`),
    /// chosen by the access check from the path once it knows the center exists; `None`
    /// everywhere else.
    pub acting_for: Option<String>,
}

impl SignedIn {
    /// Checks the bearer token of a request: present, known, not expired, account active.
    pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Self, ApiError> {
        let token_hash = Self::token_hash_of(parts)?;
        let session = state.store.session(&token_hash).await?;
        Self::checked(session, token_hash, state)
    }

    /// [`SignedIn::authenticate`], reading in the same statement window `window` of the caller's
    /// center with its duty now (see [`crate::server::store::Store::session_at_window`]): the
    /// place is as fresh as the session, both read for this very request.
    pub async fn authenticate_at_window(
        parts: &Parts,
        state: &AppState,
        window: u32,
    ) -> Result<(Self, Option<(Window, DutyState)>), ApiError> {
        let token_hash = Self::token_hash_of(parts)?;
        let (session, place) = match state.store.session_at_window(&token_hash, window).await? {
            Some((session, place)) => (Some(session), place),
            None => (None, None),
        };
        Ok((Self::checked(session, token_hash, state)?, place))
    }

    fn token_hash_of(parts: &Parts) -> Result<String, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or_else(ApiError::unauthorized)?;
        Ok(token_hash(token))
    }

    /// The checks of a session as read: known, not expired, account active.
    fn checked(
        session: Option<crate::server::store::StoredSession>,
        token_hash: String,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let session = session.ok_or_else(ApiError::unauthorized)?;
        if session.expires_at <= state.clock.now().timestamp() {
            return Err(ApiError::session_expired());
        }
        if !session.staff.active {
            return Err(ApiError::account_disabled());
        }
        Ok(Self { staff: session.staff, center: session.center, token_hash, acting_for: None })
    }

    /// The center this caller acts for on center routes: the one of their staff row, or for a
    /// county admin on a county route the center the path names ([`Self::acting_for`]). The one
    /// place that answers it. A county account elsewhere (no center) is refused.
    pub fn acting_center(&self) -> Result<&str, ApiError> {
        self.acting_for.as_deref().or(self.center.as_deref()).ok_or_else(|| {
            tracing::info!(staff_id = %self.staff.id, "county account refused on a center route");
            ApiError::forbidden("县级账号不能办理乡镇便民服务中心的业务，请用该中心的账号登录")
        })
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<SignedIn>().cloned().ok_or_else(|| {
            tracing::error!(path = parts.uri.path(), "a handler needs sign-in but its route has no access rule");
            super::access::no_rule()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("青石2026");
        assert!(hash.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{hash}");
        assert!(verify_password("青石2026", Some(&hash)));
        assert!(!verify_password("青石2025", Some(&hash)));
        assert!(!verify_password("青石2026", None));
        assert!(!verify_password("x", Some("not a hash")));
        // Hashes made elsewhere with other parameters still verify.
        let other =
            argon2::Argon2::default().hash_password(b"secret", &SaltString::generate(&mut OsRng)).unwrap().to_string();
        assert!(verify_password("secret", Some(&other)) && !verify_password("secreT", Some(&other)));
    }

    #[tokio::test]
    async fn bounded_checks_reuse_their_memory() {
        let hash = hash_password("青石2026");
        for _ in 0..3 {
            assert_eq!(
                verify_password_bounded("青石2026".into(), Some(hash.clone()), HashMemory::Kept).await,
                Some(true)
            );
            assert_eq!(
                verify_password_bounded("wrong".into(), Some(hash.clone()), HashMemory::Kept).await,
                Some(false)
            );
        }
        let pool = MEMORY.lock().unwrap();
        assert!(!pool.is_empty() && pool.len() <= CONCURRENT_HASHES, "{}", pool.len());
    }

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_token());
        assert_ne!(token_hash(&a), a);
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
