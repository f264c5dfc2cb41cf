//! A process's configuration: the string map of a `SetConfigMessage`, with typed getters.
//!
//! As in the Java library, keys match case-insensitively (the orchestrator sends the
//! parameter ids as written in the image's `org.flexiblepower.parameters` label). Unlike it,
//! a value that is absent *or empty* counts as missing, so a `*_or` getter gives its default
//! rather than 0 or `false`, and a malformed value is an error naming the key instead of a
//! silent 0: a service that cannot use its configuration should refuse it, and the
//! orchestrator then shows and retries the failure.

use std::{collections::BTreeMap, sync::Arc};

use crate::Environment;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration value '{key}' is missing")]
    Missing { key: String },
    #[error("configuration value '{key}' = {value:?} is not {expected}")]
    Invalid { key: String, value: String, expected: &'static str },
}

/// The configuration handed to [`Service::init`](crate::Service::init) and
/// [`Service::modify`](crate::Service::modify), plus the process's [`Environment`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// Lower-cased key → value.
    values: BTreeMap<String, String>,
    environment: Arc<Environment>,
}

impl Config {
    pub fn new<K: AsRef<str>, V: Into<String>>(
        values: impl IntoIterator<Item = (K, V)>,
        environment: Arc<Environment>,
    ) -> Self {
        let values = values.into_iter().map(|(k, v)| (k.as_ref().to_lowercase(), v.into())).collect();
        Config { values, environment }
    }

    /// What the orchestrator told this process about itself (process id, owner, …).
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The raw value, if present (empty values included).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(&key.to_lowercase()).map(String::as_str)
    }

    /// Every key (lower-cased) and value.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value, trimmed; absent or empty is [`ConfigError::Missing`].
    fn present(&self, key: &str) -> Result<&str, ConfigError> {
        match self.get(key).map(str::trim) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(ConfigError::Missing { key: key.to_string() }),
        }
    }

    /// Absent means `default`; present and malformed is still an error.
    fn or<T>(&self, default: T, get: impl FnOnce(&Self) -> Result<T, ConfigError>) -> Result<T, ConfigError> {
        match get(self) {
            Err(ConfigError::Missing { .. }) => Ok(default),
            other => other,
        }
    }

    /// A string value (untrimmed, as sent).
    pub fn get_str(&self, key: &str) -> Result<&str, ConfigError> {
        self.present(key)?;
        Ok(self.get(key).unwrap_or_default())
    }

    pub fn get_str_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get_str(key).unwrap_or(default)
    }

    /// An integer: decimal, or hexadecimal after `0x`, `0X` or `#` (as Java's `Long.decode`),
    /// with an optional sign.
    pub fn get_i64(&self, key: &str) -> Result<i64, ConfigError> {
        let value = self.present(key)?;
        parse_i64(value).ok_or_else(|| ConfigError::Invalid {
            key: key.to_string(),
            value: value.to_string(),
            expected: "an integer",
        })
    }

    pub fn get_i64_or(&self, key: &str, default: i64) -> Result<i64, ConfigError> {
        self.or(default, |c| c.get_i64(key))
    }

    pub fn get_f64(&self, key: &str) -> Result<f64, ConfigError> {
        let value = self.present(key)?;
        value.parse().map_err(|_| ConfigError::Invalid {
            key: key.to_string(),
            value: value.to_string(),
            expected: "a number",
        })
    }

    pub fn get_f64_or(&self, key: &str, default: f64) -> Result<f64, ConfigError> {
        self.or(default, |c| c.get_f64(key))
    }

    /// `true` or `false`, in any case; anything else is an error (Java would read it as false).
    pub fn get_bool(&self, key: &str) -> Result<bool, ConfigError> {
        let value = self.present(key)?;
        if value.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if value.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(ConfigError::Invalid { key: key.to_string(), value: value.to_string(), expected: "true or false" })
        }
    }

    pub fn get_bool_or(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        self.or(default, |c| c.get_bool(key))
    }
}

fn parse_i64(text: &str) -> Option<i64> {
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
        (16, hex)
    } else if let Some(hex) = rest.strip_prefix('#') {
        (16, hex)
    } else {
        (10, rest)
    };
    // from_str_radix would accept a second sign: the digits must be digits.
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Through i128 so that i64::MIN, written with its sign, still fits.
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::new(pairs.iter().copied(), Arc::default())
    }

    #[test]
    fn typed_getters() {
        let c = config(&[("interval_ms", " 250 "), ("Offset", "-1.5"), ("verbose", "TRUE"), ("unit", "celsius")]);
        assert_eq!(c.get_i64("interval_ms"), Ok(250));
        assert_eq!(c.get_f64("offset"), Ok(-1.5), "keys match case-insensitively");
        assert_eq!(c.get_bool("Verbose"), Ok(true));
        assert_eq!(c.get_str("unit"), Ok("celsius"));
        assert_eq!(c.get_str_or("missing", "kelvin"), "kelvin");
        assert_eq!(c.get_i64_or("missing", 7), Ok(7));
        assert_eq!(c.get_bool_or("missing", false), Ok(false));
        assert_eq!(c.len(), 4);
    }

    #[test]
    fn clear_errors() {
        let c = config(&[("n", "12a"), ("b", "yes"), ("f", "one"), ("empty", "")]);
        assert_eq!(
            c.get_i64("n"),
            Err(ConfigError::Invalid { key: "n".into(), value: "12a".into(), expected: "an integer" })
        );
        assert_eq!(c.get_i64("n").unwrap_err().to_string(), r#"configuration value 'n' = "12a" is not an integer"#);
        assert!(c.get_i64_or("n", 1).is_err(), "a default does not hide a malformed value");
        assert_eq!(c.get_bool("b").unwrap_err().to_string(), r#"configuration value 'b' = "yes" is not true or false"#);
        assert!(c.get_f64("f").is_err());
        assert_eq!(c.get_str("empty"), Err(ConfigError::Missing { key: "empty".into() }));
        assert_eq!(c.get_i64_or("empty", 3), Ok(3), "empty counts as missing");
        assert_eq!(c.get_str("nope").unwrap_err().to_string(), "configuration value 'nope' is missing");
    }

    #[test]
    fn integers_as_java_decodes_them() {
        assert_eq!(parse_i64("0x1F"), Some(31));
        assert_eq!(parse_i64("#ff"), Some(255));
        assert_eq!(parse_i64("-0X10"), Some(-16));
        assert_eq!(parse_i64("+42"), Some(42));
        assert_eq!(parse_i64("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64("9223372036854775808"), None);
        assert_eq!(parse_i64("--1"), None);
        assert_eq!(parse_i64("0x"), None);
        assert_eq!(parse_i64("-"), None);
    }
}
