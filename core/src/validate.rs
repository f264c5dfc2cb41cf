//! Input rules shared by the server and the browser, so a form can say what is wrong before it
//! is sent and the server says the same thing when it is not.

use crate::error::{Error, Result};

pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 1024;

/// Usernames: 1 to 64 characters, lower-case letters, digits, `.`, `_` and `-`, starting with a
/// letter or digit.
pub fn username(name: &str) -> Result<()> {
    let ok_start = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok_chars = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
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
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
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
    fn names_refuse_control_characters() {
        for bad in ["a\0b", "a\r\nb", "tab\there", "\u{7f}"] {
            assert!(process_name(bad).is_err(), "{bad:?}");
            assert!(name("name", bad).is_err(), "{bad:?}");
        }
        assert!(process_name("counter @alice").is_ok());
        assert!(email("a\0@b.org").is_err());
    }

    #[test]
    fn ids() {
        assert!(id("user", "0123456789abcdef01234567").is_ok());
        assert!(id("user", "nope").is_err());
        assert!(id("user", "0123456789ABCDEF01234567").is_err());
    }
}

/// Environment variables Switchyard sets itself; a process may not override them.
pub const RESERVED_ENV: &[&str] = &[
    "ORCHESTRATOR_HOST",
    "ORCHESTRATOR_PORT",
    "ORCHESTRATOR_TOKEN",
    "PROCESS_ID",
    "USER_ID",
    "USER_NAME",
    "USER_EMAIL",
];

/// A process name: 1 to 100 characters once trimmed.
pub fn process_name(name: &str) -> Result<()> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid("name", "name must not be empty"));
    }
    if trimmed.chars().count() > 100 {
        return Err(Error::invalid("name", "name must be at most 100 characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid("name", "name must not contain control characters"));
    }
    Ok(())
}

/// Check one value against a parameter's declared type (and its allowed values); arrays are
/// comma-separated lists. The message says what is wrong: not a number, a fraction where a whole
/// number is wanted, or beyond the type's own bound (the bound named only then).
pub fn parameter_value(p: &crate::model::Parameter, value: &str) -> Result<()> {
    use crate::model::ParameterType as T;
    let field = format!("parameters.{}", p.id);
    let items: Vec<&str> = if p.is_array { value.split(',').map(str::trim).collect() } else { vec![value] };
    let many = items.len() > 1;
    for (i, item) in items.iter().copied().enumerate() {
        let who = if many { format!("{} (item {})", p.name, i + 1) } else { p.name.clone() };
        let whole = |min: i128, max: i128| -> Option<String> {
            let digits = item.strip_prefix(['-', '+']).unwrap_or(item);
            let negative = item.starts_with('-');
            match item.parse::<i128>() {
                Ok(n) if n > max => Some(format!("must be a whole number no larger than {max}")),
                Ok(n) if n < min => Some(format!("must be a whole number no smaller than {min}")),
                Ok(_) => None,
                Err(_) if item.is_empty() => Some("must be a whole number; it is empty".into()),
                // Too many digits even for i128: beyond the bound all the same.
                Err(_) if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) => Some(if negative {
                    format!("must be a whole number no smaller than {min}")
                } else {
                    format!("must be a whole number no larger than {max}")
                }),
                Err(_) if item.parse::<f64>().is_ok_and(f64::is_finite) => {
                    Some(format!("must be a whole number, without a fraction (not '{item}')"))
                }
                Err(_) => Some(format!("must be a whole number, such as 10 (not '{item}')")),
            }
        };
        // `fits`: the value parses as a finite number of the parameter's own type.
        let number = |fits: bool, largest: &str| -> Option<String> {
            let lower = item.to_ascii_lowercase();
            match item.parse::<f64>() {
                _ if fits => None,
                Ok(_) if !lower.contains("inf") && !lower.contains("nan") => {
                    Some(format!("must be a number from about -{largest} to {largest}"))
                }
                _ if item.is_empty() => Some("must be a number; it is empty".into()),
                _ => Some(format!("must be a number, such as 1.5 (not '{item}')")),
            }
        };
        let problem = match p.kind {
            T::Boolean => (!matches!(item, "true" | "false")).then(|| format!("must be true or false (not '{item}')")),
            T::Byte => whole(i8::MIN.into(), i8::MAX.into()),
            T::Short => whole(i16::MIN.into(), i16::MAX.into()),
            T::Integer => whole(i32::MIN.into(), i32::MAX.into()),
            T::Long => whole(i64::MIN.into(), i64::MAX.into()),
            T::Float => number(item.parse::<f32>().is_ok_and(f32::is_finite), "3.4e38"),
            T::Double => number(item.parse::<f64>().is_ok_and(f64::is_finite), "1.8e308"),
            T::Character => match item.chars().count() {
                1 => None,
                0 => Some("must be one character; it is empty".into()),
                n => Some(format!("must be exactly one character (not {n})")),
            },
            T::String => None,
        };
        if let Some(problem) = problem {
            return Err(Error::invalid(&field, format!("{who} {problem}")));
        }
        if let Some(values) = p.values.as_ref().filter(|v| !v.is_empty()) {
            if !values.iter().any(|v| v == item) {
                return Err(Error::invalid(&field, format!("{who} must be one of: {}", values.join(", "))));
            }
        }
    }
    Ok(())
}

/// Validate a process's parameter values against the service's declared parameters: no unknown
/// ones, every required one present, each of its type. Missing optional ones with a default take
/// it. Returns the entries sorted by key.
pub fn parameters(
    declared: &[crate::model::Parameter],
    given: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<crate::model::ConfigEntry>> {
    use crate::model::ConfigEntry;
    for key in given.keys() {
        if !declared.iter().any(|p| &p.id == key) {
            let known: Vec<&str> = declared.iter().map(|p| p.id.as_str()).collect();
            return Err(Error::invalid(
                &format!("parameters.{key}"),
                if known.is_empty() {
                    format!("this service declares no parameters, so '{key}' is unknown")
                } else {
                    format!("unknown parameter '{key}'; this service declares: {}", known.join(", "))
                },
            ));
        }
    }
    let mut out = Vec::new();
    for p in declared {
        match given.get(&p.id).filter(|v| !v.is_empty()) {
            Some(v) => {
                parameter_value(p, v)?;
                out.push(ConfigEntry { key: p.id.clone(), value: v.clone() });
            }
            None => match &p.default {
                Some(d) => out.push(ConfigEntry { key: p.id.clone(), value: d.clone() }),
                None if p.is_optional => {}
                None => {
                    return Err(Error::invalid(&format!("parameters.{}", p.id), format!("{} is required", p.name)));
                }
            },
        }
    }
    out.sort();
    Ok(out)
}

/// Validate free environment variables: POSIX-style names, none of Switchyard's own, values
/// without NUL bytes.
pub fn environment(given: &std::collections::BTreeMap<String, String>) -> Result<Vec<crate::model::ConfigEntry>> {
    let mut out = Vec::new();
    for (key, value) in given {
        let field = format!("environment.{key}");
        let ok = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && key.len() <= 128;
        if !ok {
            return Err(Error::invalid(
                &field,
                format!("'{key}' is not a valid variable name (letters, digits and '_', not starting with a digit)"),
            ));
        }
        if RESERVED_ENV.contains(&key.as_str()) {
            return Err(Error::invalid(&field, format!("{key} is set by Switchyard and cannot be overridden")));
        }
        if value.contains('\0') || value.len() > 32 * 1024 {
            return Err(Error::invalid(&field, format!("the value of {key} must be text of at most 32 KiB")));
        }
        out.push(crate::model::ConfigEntry { key: key.clone(), value: value.clone() });
    }
    Ok(out)
}

#[cfg(test)]
mod parameter_tests {
    use super::*;
    use crate::model::{Parameter, ParameterType};
    use std::collections::BTreeMap;

    fn param(id: &str, kind: ParameterType, optional: bool, default: Option<&str>) -> Parameter {
        Parameter {
            id: id.into(),
            name: id.into(),
            kind,
            is_array: false,
            is_optional: optional,
            values: None,
            labels: None,
            default: default.map(String::from),
            description: None,
        }
    }

    #[test]
    fn parameter_messages_say_what_is_wrong() {
        let int = param("n", ParameterType::Integer, false, None);
        let message = |p: &crate::model::Parameter, v: &str| parameter_value(p, v).unwrap_err().to_string();
        assert!(parameter_value(&int, "-5").is_ok());
        assert!(message(&int, "3000000000").contains("no larger than 2147483647"), "{}", message(&int, "3000000000"));
        assert!(message(&int, "-3000000000").contains("no smaller than -2147483648"));
        assert!(message(&int, "1.5").contains("without a fraction"));
        assert!(!message(&int, "abc").contains("2147483647"), "{}", message(&int, "abc"));
        let long = param("l", ParameterType::Long, false, None);
        assert!(
            message(&long, "99999999999999999999999999999999999999999").contains("no larger than 9223372036854775807")
        );
        let float = param("f", ParameterType::Float, false, None);
        assert!(parameter_value(&float, "1.5").is_ok());
        assert!(message(&float, "1e39").contains("from about -3.4e38 to 3.4e38"), "{}", message(&float, "1e39"));
        assert!(message(&float, "x").contains("a number, such as"));
        let mut list = param("a", ParameterType::Short, false, None);
        list.is_array = true;
        assert!(message(&list, "1, 2, 40000").contains("(item 3)"));
    }

    #[test]
    fn parameters_are_typed_required_and_known() {
        let declared = vec![
            param("interval", ParameterType::Integer, false, None),
            param("unit", ParameterType::String, true, Some("celsius")),
            param("verbose", ParameterType::Boolean, true, None),
        ];
        let mut given = BTreeMap::new();
        assert_eq!(parameters(&declared, &given).unwrap_err().field(), Some("parameters.interval"));
        given.insert("interval".to_string(), "ten".to_string());
        assert!(parameters(&declared, &given).unwrap_err().to_string().contains("whole number"));
        given.insert("interval".to_string(), "10".to_string());
        let ok = parameters(&declared, &given).unwrap();
        assert_eq!(ok.len(), 2, "the default of unit is filled in: {ok:?}");
        given.insert("verbose".to_string(), "yes".to_string());
        assert_eq!(parameters(&declared, &given).unwrap_err().field(), Some("parameters.verbose"));
        given.remove("verbose");
        given.insert("colour".to_string(), "red".to_string());
        assert!(parameters(&declared, &given).unwrap_err().to_string().contains("unknown parameter 'colour'"));
    }

    #[test]
    fn environment_names_are_checked() {
        let mut env = BTreeMap::new();
        env.insert("GOOD_1".to_string(), "x".to_string());
        assert!(environment(&env).is_ok());
        env.insert("1BAD".to_string(), "x".to_string());
        assert!(environment(&env).is_err());
        env.remove("1BAD");
        env.insert("PROCESS_ID".to_string(), "x".to_string());
        assert!(environment(&env).unwrap_err().to_string().contains("set by Switchyard"));
    }
}
