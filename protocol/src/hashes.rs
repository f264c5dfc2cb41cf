//! Interface compatibility hashes, computed exactly as dEF-Pi's code generators do
//! (`codegen-common` PluginUtils), so services built here connect to services built there.
//!
//! `fileHash = HEX(SHA-256(descriptor file bytes))`; a message set's hash is
//! `HEX(SHA-256(fileHash))` when the set is empty, else
//! `HEX(SHA-256(fileHash + ";" + join(";", sorted unique names)))`. HEX is Java's
//! `BigInteger(1, digest).toString(16)`: lower-case, **without leading zeros**.

use sha2::{Digest, Sha256};

/// Java's `new BigInteger(1, bytes).toString(16)`.
pub fn java_hex(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.to_string()
    }
}

fn sha256_hex(text: &[u8]) -> String {
    java_hex(&Sha256::digest(text))
}

/// The hash of a descriptor file (`.proto`, `.xsd`, `.raml`), over its original bytes.
pub fn file_hash(descriptor: &[u8]) -> String {
    sha256_hex(descriptor)
}

/// The hash of one message set (what a version sends, or what it receives).
pub fn message_set_hash(file_hash: &str, messages: &[&str]) -> String {
    // Java's TreeSet<String>: duplicates removed, ordered by UTF-16 code units.
    let mut names: Vec<&str> = messages.to_vec();
    names.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    names.dedup();
    if names.is_empty() {
        sha256_hex(file_hash.as_bytes())
    } else {
        sha256_hex(format!("{file_hash};{}", names.join(";")).as_bytes())
    }
}

/// `(sendsHash, receivesHash)` of an interface version.
pub fn interface_version_hashes(descriptor: &[u8], sends: &[&str], receives: &[&str]) -> (String, String) {
    let file = file_hash(descriptor);
    (message_set_hash(&file, sends), message_set_hash(&file, receives))
}

/// The role of a RAML interface version, which stands in for its message sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RamlRole {
    Client,
    Server,
}

/// The synthetic `(sends, receives)` of a RAML version without explicit message sets.
pub fn raml_message_sets(role: RamlRole) -> (&'static [&'static str], &'static [&'static str]) {
    match role {
        RamlRole::Client => (&["RamlRequest"], &["RamlResponse"]),
        RamlRole::Server => (&["RamlResponse"], &["RamlRequest"]),
    }
}
