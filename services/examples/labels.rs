//! Test support shared by the example services' label tests: read the `LABEL`s of a
//! Dockerfile in `services/images/` the way Docker's parser does for these files (line
//! continuations joined, then `key='value'` or `key="value"` pairs), and check the dEF-Pi
//! labels against Switchyard's own model types and the interface hashes.

use std::{collections::BTreeMap, path::PathBuf};

use serde_json::Value;
use switchyard_core::model::{Interface, ParameterType};

pub fn services_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The labels of `services/images/<name>`.
pub fn labels(dockerfile: &str) -> BTreeMap<String, String> {
    let path = services_dir().join("images").join(dockerfile);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // A backslash, optional blanks, a newline: the line continues (Docker's rule).
    let mut joined = String::new();
    for line in text.lines() {
        let trimmed = line.trim_end();
        if let Some(head) = trimmed.strip_suffix('\\') {
            joined.push_str(head);
        } else {
            joined.push_str(line);
            joined.push('\n');
        }
    }
    let mut labels = BTreeMap::new();
    for line in joined.lines().filter_map(|l| l.strip_prefix("LABEL ")) {
        let mut rest = line.trim();
        while !rest.is_empty() {
            let (key, after) = rest.split_once('=').expect("key=value");
            let quote = after.chars().next().expect("a quoted value");
            assert!(quote == '\'' || quote == '"', "unquoted label value in {dockerfile}: {after}");
            let end = after[1..].find(quote).expect("closing quote") + 1;
            labels.insert(key.trim().to_string(), after[1..end].to_string());
            rest = after[end + 1..].trim();
        }
    }
    labels
}

/// The interfaces label, through Switchyard's own model (as its registry connector reads it).
pub fn interfaces(labels: &BTreeMap<String, String>) -> Vec<Interface> {
    serde_json::from_str(&labels["org.flexiblepower.interfaces"]).expect("the interfaces label parses")
}

/// `(id, type, optional)` of every parameter, checked the way Switchyard's registry connector
/// reads the label (Jackson's `array`/`optional` spelling, `default` a string or a number).
pub fn parameters(labels: &BTreeMap<String, String>) -> Vec<(String, ParameterType, bool)> {
    let list: Vec<Value> =
        serde_json::from_str(&labels["org.flexiblepower.parameters"]).expect("the parameters label parses");
    list.into_iter()
        .map(|p| {
            assert!(p["name"].is_string(), "{p}");
            assert!(p["array"].is_boolean() || p["isArray"].is_boolean(), "{p}");
            assert!(matches!(p.get("default"), None | Some(Value::String(_) | Value::Number(_))), "{p}");
            let kind: ParameterType = serde_json::from_value(p["type"].clone()).expect("a known parameter type");
            let optional = p["optional"].as_bool().or(p["isOptional"].as_bool()).unwrap_or(false);
            (p["id"].as_str().expect("an id").to_string(), kind, optional)
        })
        .collect()
}

/// `(sendsHash, receivesHash)` of the example interface, from the descriptor file.
pub fn temperature_hashes(sends: &[&str], receives: &[&str]) -> (String, String) {
    let descriptor = std::fs::read(services_dir().join("examples/proto/Temperature.proto")).expect("Temperature.proto");
    switchyard_protocol::hashes::interface_version_hashes(&descriptor, sends, receives)
}
