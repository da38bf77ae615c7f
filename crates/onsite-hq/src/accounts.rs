//! The office's people and integrations (issue 13, "people, not one shared token"), the
//! rules without storage: roles and what each may do, passwords (Argon2id), the waits
//! after failed logins, session and CSRF secrets, API-token scopes. docs/hq-accounts.md
//! has the decisions; storage and the HTTP side build on these.

use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

/// What a person does at head office.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, people and integrations included, and the audit log.
    Administrator,
    /// Jobs: dispatch, reassign, callbacks, complaints; technicians and enrolment codes.
    Dispatcher,
    /// Money and parts: exports, fee tables, price lists, parts issued; reads jobs.
    Finance,
}

impl Role {
    /// Every role, in the order screens list them.
    pub const ALL: [Role; 3] = [Role::Administrator, Role::Dispatcher, Role::Finance];

    /// The role's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Dispatcher => "dispatcher",
            Role::Finance => "finance",
        }
    }

    /// The role named `s`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// What the role may do.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Administrator => &Permission::ALL,
            Role::Dispatcher => &[ReadJobs, Dispatch, Technicians],
            Role::Finance => &[ReadJobs, Export, Reference],
        }
    }

    /// Whether the role may do `p`.
    pub fn can(self, p: Permission) -> bool {
        self.permissions().contains(&p)
    }
}

/// One thing a person or an integration may do; routes each need one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Read work orders, their facts, carry-backs, review flags (customer data: audited).
    ReadJobs,
    /// Create, change, reassign and cancel work orders; resolve review flags.
    Dispatch,
    /// Add technicians and make enrolment codes.
    Technicians,
    /// Revoke devices and mark them lost.
    Devices,
    /// The exports and blobs (customer data: audited).
    Export,
    /// Fee tables, parts catalogue, price lists, parts issued, the company profile.
    Reference,
    /// Retention, restore horizon, epoch, refused ops.
    Operations,
    /// People and API tokens.
    Users,
    /// Read the audit log.
    Audit,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 9] = [
        Permission::ReadJobs,
        Permission::Dispatch,
        Permission::Technicians,
        Permission::Devices,
        Permission::Export,
        Permission::Reference,
        Permission::Operations,
        Permission::Users,
        Permission::Audit,
    ];
}

/// The least a password may be, in characters.
pub const PASSWORD_MIN_CHARS: usize = 10;
/// The most (a passphrase, not a file).
pub const PASSWORD_MAX_CHARS: usize = 256;

/// Why a new password is refused (the console says it in the user's language).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRule {
    #[error("a password has at least 10 characters")]
    TooShort,
    #[error("a password has at most 256 characters")]
    TooLong,
    #[error("a password must not be the user name")]
    SameAsName,
}

/// Checks a new password: 10–256 characters, not the user name (case aside). Nothing
/// else is demanded (NIST SP 800-63B: length, not composition rules).
pub fn check_new_password(password: &str, username: &str) -> Result<(), PasswordRule> {
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS {
        return Err(PasswordRule::TooShort);
    }
    if n > PASSWORD_MAX_CHARS {
        return Err(PasswordRule::TooLong);
    }
    if password.trim().eq_ignore_ascii_case(username.trim()) {
        return Err(PasswordRule::SameAsName);
    }
    Ok(())
}

/// Argon2id with OWASP's minimum for servers (19 MiB, 2 passes, 1 lane): about 30 ms here,
/// so a login costs little and a stolen table costs a lot.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("fixed Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The stored form of a password: a PHC string (algorithm, parameters, salt, hash).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("Argon2 hashing with valid parameters does not fail")
        .to_string()
}

/// Whether `password` matches the stored `phc` (whatever parameters it was made with); a
/// damaged stored value never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the user does not exist, so that an unknown name takes
/// as long to refuse as a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("not any user's password"))
}

/// Failed logins allowed before waits begin.
pub const FREE_FAILURES: u32 = 3;
/// The longest wait.
pub const MAX_LOGIN_WAIT: Duration = Duration::from_secs(15 * 60);

/// How long after the last failure a user with `failures` failed logins in a row must wait
/// before the next try is even checked: none for the first three, then 2 s doubling to 15
/// minutes. Kept per user in the database, so every instance enforces it.
pub fn login_wait(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_FAILURES).min(16);
    Duration::from_secs(2u64 << doublings).min(MAX_LOGIN_WAIT)
}

/// How long a session lasts without use, and at most.
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
pub const SESSION_MAX: Duration = Duration::from_secs(12 * 3600);

/// The session cookie's name. `__Host-` makes browsers insist on Secure, Path=/ and no
/// Domain, so no other host can set or read it.
pub const SESSION_COOKIE: &str = "__Host-onsite_session";

/// The `Set-Cookie` value for a new session id.
pub fn session_cookie(id: &str) -> String {
    format!(
        "{SESSION_COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_MAX.as_secs()
    )
}

/// The `Set-Cookie` value that removes it (sign out).
pub fn cleared_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The session id in a `Cookie` header, if any.
pub fn session_from_cookies(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE && !value.is_empty()).then_some(value)
    })
}

/// The header a console request carries its CSRF token in (unsafe methods only).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Checks a user name: 2–64 characters (a Chinese given name may be two), letters,
/// digits, `.`, `_`, `-`, `@`.
pub fn check_username(name: &str) -> Result<(), &'static str> {
    let n = name.chars().count();
    if !(2..=64).contains(&n) {
        return Err("a user name has 2 to 64 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err("a user name has letters, digits, '.', '_', '-' or '@' only");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_separate_duties() {
        assert!(Role::Administrator.can(Permission::Audit));
        assert!(Role::Administrator.can(Permission::Users));
        assert!(Role::Dispatcher.can(Permission::Dispatch));
        assert!(
            !Role::Dispatcher.can(Permission::Audit),
            "issue 13: not the audit log"
        );
        assert!(!Role::Dispatcher.can(Permission::Export));
        assert!(
            !Role::Finance.can(Permission::Dispatch),
            "issue 13: finance cannot reassign"
        );
        assert!(Role::Finance.can(Permission::Export));
        assert!(!Role::Finance.can(Permission::Users));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
            assert!(r.can(Permission::ReadJobs));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse battery ", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(h, hash_password("correct horse battery"), "salted");
        assert!(!verify_password("anything", decoy_hash()));
    }

    #[test]
    fn new_passwords_are_long_enough_and_not_the_name() {
        assert_eq!(
            check_new_password("short", "li"),
            Err(PasswordRule::TooShort)
        );
        assert_eq!(
            check_new_password(&"x".repeat(257), "li"),
            Err(PasswordRule::TooLong)
        );
        assert_eq!(
            check_new_password("Dispatcher01", "dispatcher01"),
            Err(PasswordRule::SameAsName)
        );
        assert_eq!(check_new_password("十个汉字的密码短语好", "li"), Ok(()));
    }

    #[test]
    fn waits_grow_after_three_failures_and_stop_at_fifteen_minutes() {
        assert_eq!(login_wait(0), Duration::ZERO);
        assert_eq!(login_wait(2), Duration::ZERO);
        assert_eq!(login_wait(3), Duration::from_secs(2));
        assert_eq!(login_wait(4), Duration::from_secs(4));
        assert_eq!(login_wait(12), Duration::from_secs(900));
        assert_eq!(login_wait(u32::MAX), MAX_LOGIN_WAIT);
    }

    #[test]
    fn the_session_cookie_is_host_only_secure_and_strict() {
        let c = session_cookie("abc");
        for part in [
            "__Host-onsite_session=abc",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
        ] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!c.contains("Domain"));
        assert_eq!(
            session_from_cookies("theme=dark; __Host-onsite_session=abc; x=1"),
            Some("abc")
        );
        assert_eq!(session_from_cookies("onsite_session=abc"), None);
        assert_eq!(session_from_cookies("__Host-onsite_session="), None);
        assert!(cleared_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn user_names_are_plain() {
        assert!(check_username("li.na@office").is_ok());
        assert!(check_username("王芳").is_ok());
        assert!(check_username("a").is_err());
        assert!(check_username("a b c").is_err());
        assert!(check_username("<script>").is_err());
    }
}
