//! Roles, password hashing and opaque tokens.  Pure functions: no HTTP, no SQL.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// A member's standing.  The first three are the honor ladder fans climb; the rest are staff roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Fan,
    BetaTester,
    HonoraryDeveloper,
    Staff,
    Moderator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Fan,
        Role::BetaTester,
        Role::HonoraryDeveloper,
        Role::Staff,
        Role::Moderator,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Fan => "fan",
            Role::BetaTester => "beta_tester",
            Role::HonoraryDeveloper => "honorary_developer",
            Role::Staff => "staff",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Employees answer fans directly and get a visible badge.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Staff | Role::Moderator | Role::Admin)
    }

    pub fn can_moderate(self) -> bool {
        matches!(self, Role::Moderator | Role::Admin)
    }

    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }

    /// Rung on the fan honor ladder (staff sit above it and keep rung 0 for display).
    pub fn honor_rank(self) -> u8 {
        match self {
            Role::Fan => 1,
            Role::BetaTester => 2,
            Role::HonoraryDeveloper => 3,
            _ => 0,
        }
    }
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    match PasswordHash::new(stored_hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// A 256-bit random token, URL-safe.  Only its SHA-256 is stored, so a leaked table grants nothing.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(token_digest(token))
}

/// The SHA-256 of a token (what [`token_hash`] writes in hexadecimal).
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The CSRF token of a browser: an HMAC under the installation's key of its session token when
/// signed in, or of its anonymous visitor cookie otherwise. A cookie an attacker plants cannot
/// be paired with a token without the key, and a signed-in token changes with the session.
pub fn csrf_token(key: &[u8], session: Option<&str>, visitor: &str) -> String {
    use hmac::Mac;
    let Ok(mut mac) = hmac::Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    match session {
        Some(s) => {
            mac.update(b"session\0");
            mac.update(s.as_bytes());
        }
        None => {
            mac.update(b"visitor\0");
            mac.update(visitor.as_bytes());
        }
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison for CSRF tokens.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, PartialEq, Eq)]
pub enum SignupProblem {
    UsernameLength,
    UsernameChars,
    EmailInvalid,
    PasswordTooShort,
    PasswordTooLong,
}

impl SignupProblem {
    /// The form field the problem is about.
    pub fn field(&self) -> &'static str {
        match self {
            SignupProblem::UsernameLength | SignupProblem::UsernameChars => "username",
            SignupProblem::EmailInvalid => "email",
            SignupProblem::PasswordTooShort | SignupProblem::PasswordTooLong => "password",
        }
    }

    pub fn error(&self) -> crate::error::AccountError {
        use crate::error::AccountError as E;
        match self {
            SignupProblem::UsernameLength => E::UsernameLength,
            SignupProblem::UsernameChars => E::UsernameChars,
            SignupProblem::EmailInvalid => E::EmailInvalid,
            SignupProblem::PasswordTooShort => E::PasswordShort,
            SignupProblem::PasswordTooLong => E::PasswordLong,
        }
    }
}

/// An address mail can be sent to: one `@`, a dotted domain, no spaces or control characters.
pub fn valid_email(email: &str) -> bool {
    email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Usernames may use CJK characters (fans sign up with Chinese names), letters, digits, `_`, `-`
/// and `.`, but no spaces or `@` so that `@mentions` stay unambiguous. Every problem is returned,
/// one per field at most, so a form can show them all at once.
pub fn validate_signup(username: &str, email: &str, password: &str) -> Result<(), Vec<SignupProblem>> {
    let mut problems = Vec::new();
    let len = username.chars().count();
    if !(2..=32).contains(&len) {
        problems.push(SignupProblem::UsernameLength);
    } else if !username
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        problems.push(SignupProblem::UsernameChars);
    }
    if !valid_email(email) {
        problems.push(SignupProblem::EmailInvalid);
    }
    if password.chars().count() < 8 {
        problems.push(SignupProblem::PasswordTooShort);
    } else if password.chars().count() > 256 {
        problems.push(SignupProblem::PasswordTooLong);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trips_and_ranks() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Role::Staff.is_staff() && !Role::Staff.can_moderate());
        assert!(Role::Moderator.can_moderate() && !Role::Moderator.is_admin());
        assert!(!Role::HonoraryDeveloper.is_staff());
        assert!(Role::BetaTester.honor_rank() > Role::Fan.honor_rank());
    }

    #[test]
    fn password_hash_verifies_only_the_right_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsE", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, new_token());
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), a);
        assert!(tokens_equal("abc", "abc") && !tokens_equal("abc", "abd") && !tokens_equal("a", "ab"));
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_key_and_the_session() {
        let key = [7u8; 32];
        let a = csrf_token(&key, Some("session-a"), "v");
        assert_eq!(a.len(), 64);
        assert_eq!(a, csrf_token(&key, Some("session-a"), "other visitor"));
        assert_ne!(a, csrf_token(&key, Some("session-b"), "v"));
        assert_ne!(a, csrf_token(&[8u8; 32], Some("session-a"), "v"));
        assert_ne!(csrf_token(&key, None, "v"), csrf_token(&key, None, "w"));
        assert_ne!(
            csrf_token(&key, None, "session-a"),
            csrf_token(&key, Some("session-a"), "")
        );
    }

    #[test]
    fn signup_rules() {
        assert_eq!(validate_signup("小米粉丝", "a@b.cn", "longenough"), Ok(()));
        assert_eq!(
            validate_signup("x", "a@b.cn", "longenough"),
            Err(vec![SignupProblem::UsernameLength])
        );
        assert_eq!(
            validate_signup("a b", "a@b.cn", "longenough"),
            Err(vec![SignupProblem::UsernameChars])
        );
        assert_eq!(
            validate_signup("a@b", "a@b.cn", "longenough"),
            Err(vec![SignupProblem::UsernameChars])
        );
        assert_eq!(
            validate_signup("<script>", "a@b.cn", "longenough"),
            Err(vec![SignupProblem::UsernameChars])
        );
        assert_eq!(
            validate_signup("alice", "nope", "longenough"),
            Err(vec![SignupProblem::EmailInvalid])
        );
        assert_eq!(
            validate_signup("alice", "a@b.", "longenough"),
            Err(vec![SignupProblem::EmailInvalid])
        );
        assert_eq!(
            validate_signup("alice", "a@b.cn", "short"),
            Err(vec![SignupProblem::PasswordTooShort])
        );
        assert_eq!(
            validate_signup("x", "nope", "short"),
            Err(vec![
                SignupProblem::UsernameLength,
                SignupProblem::EmailInvalid,
                SignupProblem::PasswordTooShort
            ]),
            "every field's problem at once"
        );
    }
}
