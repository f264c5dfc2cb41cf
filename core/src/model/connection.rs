//! Connections between processes, and the rules that decide whether two interfaces may be
//! connected. The rules are plain functions of the data so the browser can run them too: the
//! connection editor greys out what does not fit, with the same reason the server would give.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::{Interface, InterfaceVersion, Process, ProcessState};

/// One side of a connection: an interface of a process.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Endpoint {
    pub process_id: String,
    /// The interface id as the service's labels give it (`<serviceId>/<interface>`).
    pub interface_id: String,
    /// The interface version chosen for this side when the connection was made.
    pub interface_version_name: Option<String>,
    /// The process's name when the connection was made (for display).
    #[serde(default)]
    pub process_name: String,
}

/// The state of a connection.
///
/// * `Starting`: requested; its endpoints have not both accepted it yet.
/// * `Connected`: both processes accepted it; they connect to each other by themselves.
/// * `Suspended`: one of its processes is suspended (to be resumed or moved).
/// * `Interrupted`: one of its processes stopped unexpectedly; the connection comes back by
///   itself when the process runs again.
/// * `Terminated`: ended; kept for a while so it can still be looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectionState {
    Starting,
    Connected,
    Suspended,
    Interrupted,
    Terminated,
}

impl ConnectionState {
    pub const ALL: [ConnectionState; 5] = [
        ConnectionState::Starting,
        ConnectionState::Connected,
        ConnectionState::Suspended,
        ConnectionState::Interrupted,
        ConnectionState::Terminated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionState::Starting => "STARTING",
            ConnectionState::Connected => "CONNECTED",
            ConnectionState::Suspended => "SUSPENDED",
            ConnectionState::Interrupted => "INTERRUPTED",
            ConnectionState::Terminated => "TERMINATED",
        }
    }
}

impl std::fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A link between an interface of one process and an interface of another.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Connection {
    pub id: String,
    pub user_id: String,
    pub endpoint1: Endpoint,
    pub endpoint2: Endpoint,
    /// The TCP port both sides use (one listens on it, the other connects to it).
    #[serde(default)]
    pub port: u16,
    pub state: ConnectionState,
    /// Why the connection is in its state, when that needs saying.
    #[serde(default)]
    pub state_reason: Option<String>,
    /// Termination was asked for; it is `Terminated` once both processes were told.
    #[serde(default)]
    pub terminating: bool,
    pub created: DateTime<Utc>,
    #[serde(default = "Utc::now")]
    pub updated: DateTime<Utc>,
    pub revision: u64,
}

impl Connection {
    /// The endpoint on `process_id`'s side and the other one.
    pub fn sides(&self, process_id: &str) -> Option<(&Endpoint, &Endpoint)> {
        if self.endpoint1.process_id == process_id {
            Some((&self.endpoint1, &self.endpoint2))
        } else if self.endpoint2.process_id == process_id {
            Some((&self.endpoint2, &self.endpoint1))
        } else {
            None
        }
    }

    /// Neither terminated nor being terminated: it counts for the cardinality rules.
    pub fn is_live(&self) -> bool {
        self.state != ConnectionState::Terminated && !self.terminating
    }

    /// Whether it joins these two interfaces (in either order).
    pub fn joins(&self, a: (&str, &str), b: (&str, &str)) -> bool {
        let e1 = (self.endpoint1.process_id.as_str(), self.endpoint1.interface_id.as_str());
        let e2 = (self.endpoint2.process_id.as_str(), self.endpoint2.interface_id.as_str());
        (e1 == a && e2 == b) || (e1 == b && e2 == a)
    }

    /// Whether one of its ends is this interface of this process.
    pub fn uses(&self, process_id: &str, interface_id: &str) -> bool {
        (self.endpoint1.process_id == process_id && self.endpoint1.interface_id == interface_id)
            || (self.endpoint2.process_id == process_id && self.endpoint2.interface_id == interface_id)
    }
}

/// One side of a connection to create.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EndpointRef {
    pub process_id: String,
    pub interface_id: String,
}

/// What a caller sends to connect two interfaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewConnection {
    pub endpoint1: EndpointRef,
    pub endpoint2: EndpointRef,
}

/// Why two interfaces cannot be connected. The messages name the processes and interfaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    SameProcess { message: String },
    DifferentOwners { message: String },
    UnknownInterface { message: String },
    ProcessEnding { message: String },
    Incompatible { message: String },
    AlreadyConnected { message: String, connection_id: String },
    OnlyOneConnection { message: String, connection_id: String },
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Refusal::SameProcess { message }
            | Refusal::DifferentOwners { message }
            | Refusal::UnknownInterface { message }
            | Refusal::ProcessEnding { message }
            | Refusal::Incompatible { message }
            | Refusal::AlreadyConnected { message, .. }
            | Refusal::OnlyOneConnection { message, .. } => message,
        }
    }

    /// A short code for the reason (`incompatible`, `only_one_connection`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::SameProcess { .. } => "same_process",
            Refusal::DifferentOwners { .. } => "different_owners",
            Refusal::UnknownInterface { .. } => "unknown_interface",
            Refusal::ProcessEnding { .. } => "process_ending",
            Refusal::Incompatible { .. } => "incompatible",
            Refusal::AlreadyConnected { .. } => "already_connected",
            Refusal::OnlyOneConnection { .. } => "only_one_connection",
        }
    }
}

/// The interface version pair a connection uses, as the original chooses it: both interfaces'
/// versions sorted by name, every pair scanned in nested order, the last compatible pair wins
/// (docs/protocol.md#choosing-a-version-pair). `None` when no pair fits.
pub fn choose_versions<'a>(a: &'a Interface, b: &'a Interface) -> Option<(&'a InterfaceVersion, &'a InterfaceVersion)> {
    let mut va: Vec<&InterfaceVersion> = a.interface_versions.iter().collect();
    let mut vb: Vec<&InterfaceVersion> = b.interface_versions.iter().collect();
    // Java's String.compareTo orders by UTF-16 code units; for the names in use (ASCII) that
    // is byte order, which Rust's str order is.
    va.sort_by(|x, y| x.version_name.cmp(&y.version_name));
    vb.sort_by(|x, y| x.version_name.cmp(&y.version_name));
    let mut chosen = None;
    for x in &va {
        for y in &vb {
            if x.is_compatible_with(y) {
                chosen = Some((*x, *y));
            }
        }
    }
    chosen
}

fn label(p: &Process) -> String {
    format!("'{}'", p.name)
}

/// Whether interface `ia` of process `a` may be connected to interface `ib` of process `b`,
/// given the connections that exist (any owner's; only live ones count). On success, the
/// version names chosen for each side.
pub fn check_fit(
    a: &Process,
    ia: &str,
    b: &Process,
    ib: &str,
    connections: &[Connection],
) -> Result<(String, String), Refusal> {
    if a.id == b.id {
        return Err(Refusal::SameProcess { message: format!("process {} cannot be connected to itself", label(a)) });
    }
    if a.user_id != b.user_id {
        return Err(Refusal::DifferentOwners {
            message: format!("processes {} and {} belong to different users", label(a), label(b)),
        });
    }
    let find = |p: &Process, iid: &str| -> Result<Interface, Refusal> {
        p.interfaces.iter().find(|i| i.id == iid).cloned().ok_or_else(|| Refusal::UnknownInterface {
            message: if p.interfaces.is_empty() {
                format!("process {} (service {}) has no interfaces, so none named '{iid}'", label(p), p.service_id)
            } else {
                format!(
                    "process {} (service {}) has no interface '{iid}'; it has {}",
                    label(p),
                    p.service_id,
                    p.interfaces.iter().map(|i| format!("'{}'", i.id)).collect::<Vec<_>>().join(", ")
                )
            },
        })
    };
    let if_a = find(a, ia)?;
    let if_b = find(b, ib)?;
    for p in [a, b] {
        if matches!(p.state, ProcessState::Terminated) {
            return Err(Refusal::ProcessEnding { message: format!("process {} is being deleted", label(p)) });
        }
    }
    let Some((va, vb)) = choose_versions(&if_a, &if_b) else {
        return Err(Refusal::Incompatible {
            message: format!(
                "interface '{}' of {} and interface '{}' of {} do not fit: no version of one sends what a version of \
                 the other receives and receives what it sends",
                if_a.name,
                label(a),
                if_b.name,
                label(b)
            ),
        });
    };
    let live = || connections.iter().filter(|c| c.is_live());
    if let Some(c) = live().find(|c| c.joins((&a.id, ia), (&b.id, ib))) {
        return Err(Refusal::AlreadyConnected {
            message: format!(
                "interface '{}' of {} and interface '{}' of {} are already connected",
                if_a.name,
                label(a),
                if_b.name,
                label(b)
            ),
            connection_id: c.id.clone(),
        });
    }
    for (p, iface) in [(a, &if_a), (b, &if_b)] {
        if iface.allow_multiple {
            continue;
        }
        if let Some(c) = live().find(|c| c.uses(&p.id, &iface.id)) {
            let peer = c.sides(&p.id).map(|(_, peer)| peer.process_name.clone()).unwrap_or_default();
            return Err(Refusal::OnlyOneConnection {
                message: format!(
                    "interface '{}' of {} allows only one connection and already has one (to '{}')",
                    iface.name,
                    label(p),
                    peer
                ),
                connection_id: c.id.clone(),
            });
        }
    }
    Ok((va.version_name.clone(), vb.version_name.clone()))
}

/// Another process's interface, or a catalogue service's, seen from one interface: whether it
/// could be connected, with the versions that would be used or the reason why not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Candidate {
    /// Set for a process; `None` for a catalogue service (not deployed).
    pub process_id: Option<String>,
    pub process_name: Option<String>,
    pub service_id: String,
    /// The catalogue version, for a service.
    pub service_version: Option<String>,
    pub interface_id: String,
    pub interface_name: String,
    pub fits: bool,
    /// The version name that would be used on this interface's side, when it fits.
    pub version: Option<String>,
    /// The version name that would be used on the candidate's side, when it fits.
    pub candidate_version: Option<String>,
    pub refusal: Option<Refusal>,
}

/// The answer to "what could connect to this interface".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Candidates {
    pub process_id: String,
    pub interface_id: String,
    /// The owner's other processes' interfaces.
    pub processes: Vec<Candidate>,
    /// Catalogue services with an interface that fits or not (deploying one would give a
    /// process that can be connected).
    pub services: Vec<Candidate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(name: &str, receives: &str, sends: &str) -> InterfaceVersion {
        InterfaceVersion {
            version_name: name.into(),
            receives_hash: receives.into(),
            sends_hash: sends.into(),
            sends: None,
            receives: None,
        }
    }

    fn interface(id: &str, versions: Vec<InterfaceVersion>, allow_multiple: bool) -> Interface {
        Interface {
            id: id.into(),
            name: id.rsplit('/').next().unwrap_or(id).into(),
            service_id: id.split('/').next().unwrap_or(id).into(),
            interface_versions: versions,
            allow_multiple,
            auto_connect: false,
        }
    }

    fn process(id: &str, user: &str, interfaces: Vec<Interface>) -> Process {
        let now = Utc::now();
        Process {
            interfaces,
            state: ProcessState::Running,
            created: now,
            updated: now,
            ..Process::blank(id, &format!("p{id}"), user, "svc", "1")
        }
    }

    fn link(id: &str, a: (&str, &str), b: (&str, &str)) -> Connection {
        let ep = |(p, i): (&str, &str)| Endpoint {
            process_id: p.into(),
            interface_id: i.into(),
            interface_version_name: None,
            process_name: format!("p{p}"),
        };
        Connection {
            id: id.into(),
            user_id: "u".into(),
            endpoint1: ep(a),
            endpoint2: ep(b),
            port: 5000,
            state: ConnectionState::Connected,
            state_reason: None,
            terminating: false,
            created: Utc::now(),
            updated: Utc::now(),
            revision: 0,
        }
    }

    #[test]
    fn the_last_compatible_pair_in_version_name_order_wins() {
        // Both "1" and "2" of A mirror B's "x"; the original scans sorted names and keeps the
        // last fit: ("2", "x"). Listed out of order on purpose.
        let a = interface("a/i", vec![version("2", "r", "s"), version("1", "r", "s"), version("3", "q", "q")], true);
        let b = interface("b/i", vec![version("x", "s", "r"), version("w", "zz", "zz")], true);
        let (va, vb) = choose_versions(&a, &b).unwrap();
        assert_eq!((va.version_name.as_str(), vb.version_name.as_str()), ("2", "x"));
        let c = interface("c/i", vec![version("1", "r", "s")], true);
        assert!(choose_versions(&a, &c).is_none(), "same direction does not fit");
    }

    #[test]
    fn every_refusal_names_its_reason() {
        let sender = || interface("s/t", vec![version("1", "r", "s")], true);
        let receiver = || interface("k/t", vec![version("1", "s", "r")], false);
        let s1 = process("1", "u", vec![sender()]);
        let s2 = process("2", "u", vec![sender()]);
        let k = process("3", "u", vec![receiver()]);
        let other = process("4", "v", vec![receiver()]);
        assert_eq!(check_fit(&k, "k/t", &s1, "s/t", &[]), Ok(("1".into(), "1".into())));
        assert_eq!(check_fit(&s1, "s/t", &s1, "s/t", &[]).unwrap_err().code(), "same_process");
        assert_eq!(check_fit(&s1, "s/t", &other, "k/t", &[]).unwrap_err().code(), "different_owners");
        let e = check_fit(&s1, "s/nope", &k, "k/t", &[]).unwrap_err();
        assert_eq!(e.code(), "unknown_interface");
        assert!(e.message().contains("has no interface 's/nope'; it has 's/t'"), "{}", e.message());
        let e = check_fit(&s1, "s/t", &s2, "s/t", &[]).unwrap_err();
        assert_eq!(e.code(), "incompatible");
        assert!(e.message().contains("do not fit"));
        let existing = [link("c1", ("3", "k/t"), ("1", "s/t"))];
        assert_eq!(check_fit(&s1, "s/t", &k, "k/t", &existing).unwrap_err().code(), "already_connected");
        let e = check_fit(&k, "k/t", &s2, "s/t", &existing).unwrap_err();
        assert_eq!(e.code(), "only_one_connection");
        assert!(e.message().contains("allows only one connection and already has one (to 'p1')"), "{}", e.message());
        // The sender allows many: another receiver may connect to s1.
        let k2 = process("5", "u", vec![receiver()]);
        assert!(check_fit(&s1, "s/t", &k2, "k/t", &existing).is_ok());
        // Terminated or terminating connections do not count.
        let mut gone = existing.clone();
        gone[0].terminating = true;
        assert!(check_fit(&k, "k/t", &s2, "s/t", &gone).is_ok());
        let mut ending = s2.clone();
        ending.state = ProcessState::Terminated;
        assert_eq!(check_fit(&k, "k/t", &ending, "s/t", &[]).unwrap_err().code(), "process_ending");
    }
}
