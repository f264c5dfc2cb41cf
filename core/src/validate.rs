//! Input rules shared by the server and the browser, so a form can say what is wrong before it
//! is sent and the server says the same thing when it is not.

use crate::error::{Error, Result};

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 1024;

/// Usernames: 1 to 64 characters, lower-case letters, digits, `.`, `_` and `-`, starting with a
/// letter or digit.
pub fn username(name: &str) -> Result<()> {
    let ok_start = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if name.is_empty() {
        return Err(Error::invalid("username", "username must not be empty"));
    }
    if name.len() > 64 {
        return Err(Error::invalid("username", "username must be at most 64 characters"));
    }
    if !ok_start || !ok_chars {
        return Err(Error::invalid(
            "username",
            "username may hold only lower-case letters, digits, '.', '_' and '-', and must start with a letter or digit",
        ));
    }
    Ok(())
}

pub fn password(field: &str, password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(Error::invalid(field, "password must not be empty"));
    }
    let n = password.chars().count();
    if n < PASSWORD_MIN {
        return Err(Error::invalid(field, format!("password must be at least {PASSWORD_MIN} characters")));
    }
    if n > PASSWORD_MAX {
        return Err(Error::invalid(field, format!("password must be at most {PASSWORD_MAX} characters")));
    }
    Ok(())
}

/// A plausible e-mail address: one `@` with something on both sides, no spaces, at most 254
/// characters. (Only a mail that arrives proves more.)
pub fn email(email: &str) -> Result<()> {
    let parts: Vec<&str> = email.split('@').collect();
    let ok = parts.len() == 2
        && !parts[0].is_empty()
        && parts[1].contains('.')
        && !parts[1].starts_with('.')
        && !parts[1].ends_with('.')
        && !email.chars().any(char::is_whitespace)
        && email.len() <= 254;
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("email", "email must look like name@example.org"))
    }
}

/// Display names of things (node pools, tokens, processes): 1 to 100 characters, not blank.
pub fn name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(field, format!("{field} must not be empty")));
    }
    if name.chars().count() > 100 {
        return Err(Error::invalid(field, format!("{field} must be at most 100 characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(field, format!("{field} must not contain control characters")));
    }
    Ok(())
}

/// Ids are opaque to clients, but Switchyard makes only 24-character lower-case hex ones, so
/// anything else is a malformed request rather than an unknown record.
pub fn id(what: &str, id: &str) -> Result<()> {
    if id.len() == 24 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(Error::BadRequest(format!("'{id}' is not a valid {what} id")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(username("alice").is_ok());
        assert!(username("a.b-c_9").is_ok());
        assert!(username("").is_err());
        assert!(username("Alice").is_err());
        assert!(username("-x").is_err());
        assert!(username(&"a".repeat(65)).is_err());
    }

    #[test]
    fn passwords() {
        assert_eq!(password("password", "").unwrap_err().field(), Some("password"));
        assert!(password("password", "short").is_err());
        assert!(password("password", "long enough").is_ok());
    }

    #[test]
    fn emails() {
        assert!(email("a@b.org").is_ok());
        assert!(email("a@b").is_err());
        assert!(email("a b@c.org").is_err());
        assert!(email("@c.org").is_err());
    }

    #[test]
    fn ids() {
        assert!(id("user", "0123456789abcdef01234567").is_ok());
        assert!(id("user", "nope").is_err());
        assert!(id("user", "0123456789ABCDEF01234567").is_err());
    }
}
