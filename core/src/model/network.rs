//! A user's network as a document, and what Switchyard makes of one: a [`Plan`] (what it would
//! do, each step checked, nothing changed) and a [`Deployment`] (a plan applied, step by step, kept
//! as a revision of the network).
//!
//! The document names things as people do: processes by name, services by id, nodes and node
//! pools by name, interfaces by id. A document is the whole network (`scope: network`, the
//! default: processes it does not list are terminated) or only the processes it lists
//! (`scope: listed`). Everything here is plain data, so the browser diffs documents with the same
//! code the server uses.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::ResourceLimits;

/// The format version a document declares (`version: 1`).
pub const DOCUMENT_VERSION: u32 = 1;

/// A network: its processes and the connections between them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NetworkDocument {
    /// The format version; only 1 exists.
    #[serde(default = "document_version")]
    pub version: u32,
    /// Whose network (a username). Only administrators may name someone else; absent: yours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// `network`: the document is the whole network (what it does not list is terminated).
    /// `listed`: it manages only the processes it lists, and the connections between them.
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub processes: Vec<ProcessSpec>,
    #[serde(default)]
    pub connections: Vec<ConnectionSpec>,
}

fn document_version() -> u32 {
    DOCUMENT_VERSION
}

/// How much of the network a document speaks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    #[default]
    Network,
    Listed,
}

/// One process of a network.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// Unique within the network: how the document refers to the process.
    pub name: String,
    /// The service id (`sensor`).
    pub service: String,
    /// The service version (a tag); absent: the newest when planned. Changing it upgrades the
    /// process, keeping its state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Parameter values by parameter id (numbers and booleans are taken as written).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "scalar_map")]
    #[cfg_attr(feature = "server", schemars(with = "BTreeMap<String, Scalar>"))]
    pub parameters: BTreeMap<String, String>,
    /// Environment variables of its container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "scalar_map")]
    #[cfg_attr(feature = "server", schemars(with = "BTreeMap<String, Scalar>"))]
    pub environment: BTreeMap<String, String>,
    /// Where it runs; absent: wherever Switchyard sees fit.
    #[serde(default, skip_serializing_if = "PlacementSpec::is_automatic")]
    #[cfg_attr(feature = "server", schemars(with = "PlacementSchema"))]
    pub placement: PlacementSpec,
    #[serde(default, skip_serializing_if = "limits_unset")]
    pub limits: ResourceLimits,
    /// Move it to another permitted node when its node fails.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub move_on_failure: bool,
}

fn limits_unset(l: &ResourceLimits) -> bool {
    l.memory_bytes == 0 && l.nano_cpus == 0
}

/// Where a process runs, by name: `automatic`, `{node: edge-1}` (one of the owner's private
/// nodes) or `{pool: public}` (a node pool). Written the same way in YAML and JSON (a word or a
/// one-key map, not a YAML tag).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(rename_all = "snake_case"))]
pub enum PlacementSpec {
    #[default]
    Automatic,
    Node(String),
    Pool(String),
}

impl Serialize for PlacementSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            PlacementSpec::Automatic => s.serialize_str("automatic"),
            PlacementSpec::Node(n) | PlacementSpec::Pool(n) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(if matches!(self, PlacementSpec::Node(_)) { "node" } else { "pool" }, n)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for PlacementSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PlacementSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`automatic`, `{node: <name>}` or `{pool: <name>}`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PlacementSpec, E> {
                match v {
                    "automatic" => Ok(PlacementSpec::Automatic),
                    other => Err(E::custom(format!(
                        "placement is `automatic`, `{{node: <name>}}` or `{{pool: <name>}}`, not '{other}'"
                    ))),
                }
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<PlacementSpec, E> {
                Ok(PlacementSpec::Automatic)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<PlacementSpec, A::Error> {
                use serde::de::Error;
                let Some(key) = map.next_key::<String>()? else {
                    return Err(A::Error::custom(
                        "a placement map names a node or a pool: `{node: <name>}` or `{pool: <name>}`",
                    ));
                };
                let name: String = map.next_value()?;
                let placement = match key.as_str() {
                    "node" => PlacementSpec::Node(name),
                    "pool" => PlacementSpec::Pool(name),
                    other => {
                        return Err(A::Error::custom(format!("unknown placement `{other}`; expected `node` or `pool`")))
                    }
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(A::Error::custom("a placement names one node or one pool"));
                }
                Ok(placement)
            }
        }
        d.deserialize_any(V)
    }
}

/// The placement's shape in the JSON Schema.
#[cfg(feature = "server")]
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum PlacementSchema {
    /// `automatic`
    Automatic(AutomaticWord),
    /// One of the owner's private nodes, by name.
    Node { node: String },
    /// A node pool, by name.
    Pool { pool: String },
}

#[cfg(feature = "server")]
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
enum AutomaticWord {
    #[serde(rename = "automatic")]
    Automatic,
}

impl PlacementSpec {
    pub fn is_automatic(&self) -> bool {
        matches!(self, PlacementSpec::Automatic)
    }
}

impl std::fmt::Display for PlacementSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlacementSpec::Automatic => f.write_str("automatic"),
            PlacementSpec::Node(n) => write!(f, "node {n}"),
            PlacementSpec::Pool(p) => write!(f, "pool {p}"),
        }
    }
}

/// A connection between two interfaces (the order of the endpoints does not matter).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ConnectionSpec {
    /// Exactly two.
    pub endpoints: Vec<EndpointSpec>,
}

/// An interface of a process of the network.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "server", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// The process's name in the document.
    pub process: String,
    /// The interface id (`sensor/temperature`).
    pub interface: String,
}

impl std::fmt::Display for EndpointSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.process, self.interface)
    }
}

impl ConnectionSpec {
    /// Its endpoints in a fixed order, so that `a–b` and `b–a` are the same connection.
    pub fn key(&self) -> (EndpointSpec, EndpointSpec) {
        let end = |i: usize| self.endpoints.get(i).cloned().unwrap_or_default();
        let (a, b) = (end(0), end(1));
        if a <= b {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// `kitchen (sensor/temperature) ↔ tally (counter/temperature)`.
    pub fn label(&self) -> String {
        let (a, b) = self.key();
        format!("{a} ↔ {b}")
    }
}

/// What a parameter or environment value may be written as in a document.
#[cfg(feature = "server")]
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Scalar {
    Text(String),
    Number(f64),
    Flag(bool),
}

/// A map of strings that also takes numbers and booleans (`step: 2`, `debug: true`), as people
/// write them in YAML.
fn scalar_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    struct Text(String);
    impl<'de> Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl serde::de::Visitor<'_> for V {
                type Value = Text;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a string, a number or a boolean")
                }
                fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                    Ok(Text(v.to_string()))
                }
                fn visit_bool<E>(self, v: bool) -> Result<Text, E> {
                    Ok(Text(v.to_string()))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Text, E> {
                    Ok(Text(v.to_string()))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Text, E> {
                    Ok(Text(v.to_string()))
                }
                fn visit_f64<E>(self, v: f64) -> Result<Text, E> {
                    Ok(Text(v.to_string()))
                }
            }
            d.deserialize_any(V)
        }
    }
    let map = BTreeMap::<String, Text>::deserialize(d)?;
    Ok(map.into_iter().map(|(k, v)| (k, v.0)).collect())
}

/// A problem with a document, at its path (`processes[2].service`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// What a plan step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepAction {
    /// Deploy a new process.
    CreateProcess,
    /// Change its parameters, environment or moving on failure.
    UpdateProcess,
    /// Move it to another placement, keeping its state.
    MoveProcess,
    /// Run another version of its service (or other limits), keeping its state and connections.
    UpgradeProcess,
    TerminateProcess,
    /// Nothing to do (listed so the plan shows the whole network).
    KeepProcess,
    AddConnection,
    RemoveConnection,
    KeepConnection,
}

impl StepAction {
    /// Whether the step changes anything.
    pub fn changes(self) -> bool {
        !matches!(self, StepAction::KeepProcess | StepAction::KeepConnection)
    }
    /// `added`, `changed`, `removed` or `kept`: how a diff of the network colours it.
    pub fn effect(self) -> &'static str {
        match self {
            StepAction::CreateProcess | StepAction::AddConnection => "added",
            StepAction::UpdateProcess | StepAction::MoveProcess | StepAction::UpgradeProcess => "changed",
            StepAction::TerminateProcess | StepAction::RemoveConnection => "removed",
            StepAction::KeepProcess | StepAction::KeepConnection => "kept",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            StepAction::CreateProcess => "create_process",
            StepAction::UpdateProcess => "update_process",
            StepAction::MoveProcess => "move_process",
            StepAction::UpgradeProcess => "upgrade_process",
            StepAction::TerminateProcess => "terminate_process",
            StepAction::KeepProcess => "keep_process",
            StepAction::AddConnection => "add_connection",
            StepAction::RemoveConnection => "remove_connection",
            StepAction::KeepConnection => "keep_connection",
        }
    }
}

/// One field a step changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SpecChange {
    /// `version`, `parameters.step`, `environment.GREETING`, `placement`, `limits.memory_bytes`, …
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanStep {
    /// Its number in the plan (steps run in this order, as their dependencies allow).
    pub index: usize,
    pub action: StepAction,
    /// The process's name (process steps), or the connection's label.
    pub subject: String,
    /// For a connection step: its two endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<ConnectionSpec>,
    /// The existing process or connection it acts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// A sentence for people.
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<SpecChange>,
    /// Steps that must be done first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<usize>,
    /// Why Switchyard would refuse it (the real operation's check); a plan with any refusal
    /// cannot be applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
}

/// How many steps of each kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanSummary {
    pub create: usize,
    pub update: usize,
    #[serde(rename = "move")]
    pub move_: usize,
    pub upgrade: usize,
    pub terminate: usize,
    pub connect: usize,
    pub disconnect: usize,
    pub unchanged: usize,
}

impl PlanSummary {
    /// `2 to create`, `1 to connect`, `3 unchanged`: the counts that are not 0, in words.
    pub fn in_words(&self) -> Vec<String> {
        [
            (self.create, "to create"),
            (self.update, "to reconfigure"),
            (self.move_, "to move"),
            (self.upgrade, "to upgrade"),
            (self.terminate, "to terminate"),
            (self.connect, "to connect"),
            (self.disconnect, "to disconnect"),
            (self.unchanged, "unchanged"),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect()
    }
}

impl std::fmt::Display for SpecChange {
    /// `parameters.step: 1 → 2`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} → {}",
            self.field,
            self.before.as_deref().unwrap_or("(none)"),
            self.after.as_deref().unwrap_or("(none)")
        )
    }
}

/// What Switchyard would do to make a network what a document says. Planning changes nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    pub id: String,
    /// Whose network.
    pub user_id: String,
    pub username: String,
    /// The document as planned (versions resolved).
    pub document: NetworkDocument,
    /// The network (in the document's scope) as it was when planned: applying refuses the plan
    /// when the network changed since.
    pub base: NetworkDocument,
    pub steps: Vec<PlanStep>,
    /// What is wrong with the document (each with its path); a plan with problems has no steps.
    pub problems: Vec<Problem>,
    /// No problems and no refused step.
    pub applicable: bool,
    pub summary: PlanSummary,
    /// The deployment this plan restores, for a rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restores: Option<String>,
    pub created: DateTime<Utc>,
    pub revision: u64,
}

impl Plan {
    /// Whether applying it would change anything.
    pub fn changes_anything(&self) -> bool {
        self.steps.iter().any(|s| s.action.changes())
    }
}

/// Where a deployment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentState {
    Running,
    Succeeded,
    /// A step failed (what depended on it was skipped); it may be retried.
    Failed,
    Cancelled,
}

impl DeploymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Running => "RUNNING",
            DeploymentState::Succeeded => "SUCCEEDED",
            DeploymentState::Failed => "FAILED",
            DeploymentState::Cancelled => "CANCELLED",
        }
    }
}

/// Where one step of a deployment is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepState {
    /// Waiting for the steps it depends on.
    Waiting,
    /// Asked for; waiting for it to take effect (a process running, a connection connected).
    Running,
    Done,
    Failed,
    /// Not done because a step it depends on failed.
    Skipped,
    Cancelled,
}

impl StepState {
    pub fn is_final(self) -> bool {
        !matches!(self, StepState::Waiting | StepState::Running)
    }
}

/// A plan step as a deployment carries it out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentStep {
    #[serde(flatten)]
    pub step: PlanStep,
    pub state: StepState,
    /// What happened (why it failed or was skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The process or connection it made or acts on (chosen before it is asked for, so that
    /// doing it again after a restart finds what the first try made instead of making another).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// The operation was asked for (its effect may still be on the way).
    #[serde(default)]
    pub launched: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<DateTime<Utc>>,
}

/// An applied plan: a revision of its user's network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployment {
    pub id: String,
    pub user_id: String,
    /// The revision of the user's network it makes: 1, 2, 3, …
    pub number: u64,
    pub plan_id: String,
    /// The network as the document says it (the revision).
    pub document: NetworkDocument,
    /// The network before it (in the document's scope).
    pub before: NetworkDocument,
    pub steps: Vec<DeploymentStep>,
    pub state: DeploymentState,
    /// Who applied it (a username, and their id: the steps run with their rights).
    pub applied_by: String,
    pub applied_by_id: String,
    /// The deployment whose network it restores, for a rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restores: Option<String>,
    pub summary: PlanSummary,
    pub created: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub revision: u64,
}

/// One difference between two documents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentChange {
    /// `added`, `removed` or `changed`.
    pub effect: String,
    /// `process` or `connection`.
    pub kind: String,
    /// The process's name or the connection's label.
    pub subject: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<SpecChange>,
}

impl std::fmt::Display for DocumentChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} '{}'", self.kind, self.effect, self.subject)?;
        if !self.changes.is_empty() {
            let fields: Vec<String> = self.changes.iter().map(SpecChange::to_string).collect();
            write!(f, " ({})", fields.join(", "))?;
        }
        Ok(())
    }
}

/// The fields of `before` that `after` changes (a process's `version` only when both give one).
pub fn process_changes(before: &ProcessSpec, after: &ProcessSpec) -> Vec<SpecChange> {
    let mut out = Vec::new();
    let mut field = |name: String, b: Option<String>, a: Option<String>| {
        if b != a {
            out.push(SpecChange { field: name, before: b, after: a });
        }
    };
    field("service".into(), Some(before.service.clone()), Some(after.service.clone()));
    if before.version.is_some() && after.version.is_some() {
        field("version".into(), before.version.clone(), after.version.clone());
    }
    for (prefix, b, a) in [
        ("parameters", &before.parameters, &after.parameters),
        ("environment", &before.environment, &after.environment),
    ] {
        let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
        for k in keys {
            field(format!("{prefix}.{k}"), b.get(k).cloned(), a.get(k).cloned());
        }
    }
    field("placement".into(), Some(before.placement.to_string()), Some(after.placement.to_string()));
    field(
        "limits.memory_bytes".into(),
        Some(before.limits.memory_bytes.to_string()),
        Some(after.limits.memory_bytes.to_string()),
    );
    field(
        "limits.nano_cpus".into(),
        Some(before.limits.nano_cpus.to_string()),
        Some(after.limits.nano_cpus.to_string()),
    );
    field("move_on_failure".into(), Some(before.move_on_failure.to_string()), Some(after.move_on_failure.to_string()));
    out
}

/// What `to` changes in `from`: processes (by name) and connections added, removed or changed.
pub fn diff_documents(from: &NetworkDocument, to: &NetworkDocument) -> Vec<DocumentChange> {
    let mut out = Vec::new();
    let before: BTreeMap<&str, &ProcessSpec> = from.processes.iter().map(|p| (p.name.as_str(), p)).collect();
    let after: BTreeMap<&str, &ProcessSpec> = to.processes.iter().map(|p| (p.name.as_str(), p)).collect();
    for (name, b) in &before {
        match after.get(name) {
            None => out.push(DocumentChange {
                effect: "removed".into(),
                kind: "process".into(),
                subject: name.to_string(),
                changes: vec![],
            }),
            Some(a) => {
                let changes = process_changes(b, a);
                if !changes.is_empty() {
                    out.push(DocumentChange {
                        effect: "changed".into(),
                        kind: "process".into(),
                        subject: name.to_string(),
                        changes,
                    });
                }
            }
        }
    }
    for name in after.keys().filter(|n| !before.contains_key(*n)) {
        out.push(DocumentChange {
            effect: "added".into(),
            kind: "process".into(),
            subject: name.to_string(),
            changes: vec![],
        });
    }
    let keys = |d: &NetworkDocument| -> BTreeMap<(EndpointSpec, EndpointSpec), String> {
        d.connections.iter().map(|c| (c.key(), c.label())).collect()
    };
    let (cb, ca) = (keys(from), keys(to));
    for (k, label) in &cb {
        if !ca.contains_key(k) {
            out.push(DocumentChange {
                effect: "removed".into(),
                kind: "connection".into(),
                subject: label.clone(),
                changes: vec![],
            });
        }
    }
    for (k, label) in &ca {
        if !cb.contains_key(k) {
            out.push(DocumentChange {
                effect: "added".into(),
                kind: "connection".into(),
                subject: label.clone(),
                changes: vec![],
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(step: &str) -> ProcessSpec {
        ProcessSpec {
            name: "tally".into(),
            service: "counter".into(),
            version: Some("1.0.0".into()),
            parameters: [("step".to_string(), step.to_string())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn numbers_and_booleans_are_taken_as_written_and_unknown_fields_are_refused() {
        let doc: NetworkDocument = serde_json::from_value(serde_json::json!({
            "processes": [{"name": "tally", "service": "counter", "parameters": {"step": 2, "fast": true},
                           "placement": {"pool": "public"}}]
        }))
        .unwrap();
        assert_eq!(doc.version, 1);
        assert_eq!(doc.scope, Scope::Network);
        assert_eq!(doc.processes[0].parameters["step"], "2");
        assert_eq!(doc.processes[0].parameters["fast"], "true");
        assert_eq!(doc.processes[0].placement, PlacementSpec::Pool("public".into()));
        let err = serde_json::from_value::<NetworkDocument>(serde_json::json!({
            "processes": [{"name": "tally", "service": "counter", "sevrice": "x"}]
        }))
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `sevrice`"), "{err}");
    }

    #[test]
    fn a_connection_is_the_same_whichever_way_round() {
        let e = |p: &str, i: &str| EndpointSpec { process: p.into(), interface: i.into() };
        let a =
            ConnectionSpec { endpoints: vec![e("kitchen", "sensor/temperature"), e("tally", "counter/temperature")] };
        let b =
            ConnectionSpec { endpoints: vec![e("tally", "counter/temperature"), e("kitchen", "sensor/temperature")] };
        assert_eq!(a.key(), b.key());
        assert_eq!(a.label(), "kitchen (sensor/temperature) ↔ tally (counter/temperature)");
    }

    #[test]
    fn a_diff_names_what_was_added_removed_and_changed_field_by_field() {
        let from = NetworkDocument { processes: vec![counter("1")], ..Default::default() };
        let mut upgraded = counter("2");
        upgraded.version = Some("2.0.0".into());
        let to = NetworkDocument {
            processes: vec![
                upgraded,
                ProcessSpec { name: "kitchen".into(), service: "sensor".into(), ..Default::default() },
            ],
            ..Default::default()
        };
        let diff = diff_documents(&from, &to);
        assert_eq!(diff.len(), 2, "{diff:?}");
        assert_eq!(diff[0].effect, "changed");
        assert_eq!(
            diff[0].changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
            ["version", "parameters.step"]
        );
        assert_eq!(diff[0].to_string(), "process changed 'tally' (version: 1.0.0 → 2.0.0, parameters.step: 1 → 2)");
        assert_eq!((diff[1].effect.as_str(), diff[1].subject.as_str()), ("added", "kitchen"));
        assert!(diff_documents(&to, &to).is_empty());
    }
}
