use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

/// Processor architecture of a node or of an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Architecture {
    X86_64,
    /// 32-bit ARM (`armv7l`, the original's `-arm` tags).
    Arm,
    Arm64,
    Unknown,
}

impl Architecture {
    /// From Docker's or an OCI platform's spelling (`x86_64`, `amd64`, `aarch64`, `arm64`, `armv7l`, `arm`).
    pub fn from_docker(text: &str) -> Self {
        match text.to_ascii_lowercase().as_str() {
            "x86_64" | "amd64" => Self::X86_64,
            "aarch64" | "arm64" | "arm64/v8" => Self::Arm64,
            t if t.starts_with("arm") => Self::Arm,
            _ => Self::Unknown,
        }
    }
}

/// A service: a repository of container images in the registry, at one version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Service {
    /// Repository name without the registry's service prefix, e.g. `echo`.
    pub id: String,
    /// `org.flexiblepower.serviceName`.
    pub name: String,
    /// The tag group, e.g. `1.2.0` or `latest`.
    pub version: String,
    pub created: Option<DateTime<Utc>>,
    pub interfaces: Vec<Interface>,
    pub parameters: Vec<Parameter>,
    /// The tag to pull for each architecture this version has an image for.
    pub tags: BTreeMap<Architecture, String>,
    /// The manifest digest of each architecture's image, so a process is pinned to exactly
    /// the image it was created from even if the tag moves.
    pub digests: BTreeMap<Architecture, String>,
    /// What is wrong with this version's labels, if anything (it is listed all the same).
    pub problems: Vec<String>,
}

/// An interface of a service; two interfaces fit when some pair of their versions mirror.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    /// `<serviceId>/<interface id>` as the original code generator writes it.
    pub id: String,
    pub name: String,
    pub service_id: String,
    pub interface_versions: Vec<InterfaceVersion>,
    pub allow_multiple: bool,
    pub auto_connect: bool,
}

/// One version of an interface: the hashes of the message sets it sends and receives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InterfaceVersion {
    pub version_name: String,
    pub receives_hash: String,
    pub sends_hash: String,
    /// The message types it sends, when the labels say (the `sends` of the service.json the
    /// hashes were made from; the original generators leave them out). Shown to people only:
    /// the fit rule compares the hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sends: Option<Vec<String>>,
    /// The message types it receives, when the labels say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receives: Option<Vec<String>>,
}

impl InterfaceVersion {
    /// The original's rule: each side sends exactly what the other receives.
    pub fn is_compatible_with(&self, other: &InterfaceVersion) -> bool {
        self.sends_hash == other.receives_hash && self.receives_hash == other.sends_hash
    }
}

impl Interface {
    pub fn is_compatible_with(&self, other: &Interface) -> bool {
        self.interface_versions.iter().any(|a| other.interface_versions.iter().any(|b| a.is_compatible_with(b)))
    }
}

/// The declared type of a service parameter (`org.flexiblepower.parameters`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ParameterType {
    Boolean,
    Byte,
    Character,
    Short,
    Integer,
    Long,
    Float,
    Double,
    String,
}

/// A typed parameter a service declares; a process's configuration is validated against these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ParameterType,
    #[serde(default)]
    pub is_array: bool,
    #[serde(default)]
    pub is_optional: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// What the parameter is for, when its label says (`description`; not in the original's
    /// schema, so most images have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Parameter {
    /// Whether a user must give a value: it is not optional and has no default to fall back on
    /// (a "required" parameter with a default takes the default when left empty).
    pub fn is_required(&self) -> bool {
        !self.is_optional && self.default.is_none()
    }
}
