//! The overview: what a user (an administrator: everyone) has, what fails now, where it runs,
//! what happened last and what to do first. Read in one round of store queries by
//! `Switchyard::overview`; plain data, so the browser gets it as it is.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::{ConnectionState, NodeKind, NodeStatus, PendingChangeState, ProcessState};

/// How many of the caller's things are in each state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StateCounts {
    /// Every process state but TERMINATED (being removed), in [`ProcessState::ALL`] order.
    pub processes: Vec<(ProcessState, u64)>,
    /// Every connection state but TERMINATED (those are kept for an hour only to be looked at).
    pub connections: Vec<(ConnectionState, u64)>,
    /// The open pending changes: waiting, running, retrying, and failed for good.
    pub changes: Vec<(PendingChangeState, u64)>,
}

impl StateCounts {
    pub fn process_total(&self) -> u64 {
        self.processes.iter().map(|(_, n)| n).sum()
    }
    pub fn connection_total(&self) -> u64 {
        self.connections.iter().map(|(_, n)| n).sum()
    }
    pub fn process_count(&self, state: ProcessState) -> u64 {
        self.processes.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n)
    }
    pub fn change_count(&self, state: PendingChangeState) -> u64 {
        self.changes.iter().find(|(s, _)| *s == state).map_or(0, |(_, n)| *n)
    }
}

/// A process that is FAILED, with why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailingProcess {
    pub id: String,
    pub name: String,
    pub service_id: String,
    pub reason: Option<String>,
    /// When it last changed (it failed then, or later).
    pub since: DateTime<Utc>,
}

/// A pending change that failed for good (it waits for a retry or a cancel).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailedChange {
    pub id: String,
    pub description: String,
    pub last_error: Option<String>,
    pub attempts: u32,
    pub at: DateTime<Utc>,
}

/// A node the caller may see, with its size and how many of the caller's processes it runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeCapacity {
    pub id: String,
    pub name: String,
    pub kind: NodeKind,
    /// A public node's pool.
    pub pool: Option<String>,
    /// A private node's owner (administrators only; a user's private nodes are their own).
    pub owner: Option<String>,
    pub status: NodeStatus,
    /// The caller's processes placed on it (an administrator: everyone's).
    pub processes: u64,
    /// In billionths of a core and bytes; 0 when the swarm did not say.
    pub nano_cpus: u64,
    pub memory_bytes: u64,
}

impl NodeCapacity {
    /// Whether processes can be deployed to it: assigned (public or private) and ready.
    pub fn usable(&self) -> bool {
        self.kind != NodeKind::Unidentified && self.status == NodeStatus::Ready
    }

    /// Whether it belongs under "failing now": not ready while it matters (it is assigned, or
    /// runs processes). An unidentified node that left the swarm and runs nothing does not.
    pub fn failing(&self) -> bool {
        self.status != NodeStatus::Ready && (self.kind != NodeKind::Unidentified || self.processes > 0)
    }
}

/// One entry of the audit trail, as the overview shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecentChange {
    pub id: String,
    pub at: DateTime<Utc>,
    /// Who did it: a user name, or `switchyard`.
    pub who: String,
    pub summary: String,
    pub ok: bool,
    /// The process it was about, when it was about one that still exists.
    pub process_id: Option<String>,
}

/// The first steps of a new installation (or a new user), each done or not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checklist {
    /// A node the caller may deploy to is ready.
    pub usable_node: bool,
    /// A process exists (the caller's; an administrator: anyone's).
    pub deployed: bool,
    /// A connection exists (likewise).
    pub connected: bool,
}

impl Checklist {
    pub fn done(&self) -> bool {
        self.usable_node && self.deployed && self.connected
    }
}

/// Everything the overview shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// The caller is an administrator: everything counts everyone's.
    pub admin: bool,
    pub counts: StateCounts,
    /// The newest FAILED processes (at most [`Overview::FAILING_SHOWN`]).
    pub failing_processes: Vec<FailingProcess>,
    /// The newest pending changes that failed for good (at most [`Overview::FAILING_SHOWN`]).
    pub failed_changes: Vec<FailedChange>,
    /// The nodes the caller may see, by name.
    pub nodes: Vec<NodeCapacity>,
    /// The last entries of the audit trail the caller may read, newest first.
    pub recent: Vec<RecentChange>,
    pub checklist: Checklist,
}

impl Overview {
    /// How many failing processes (and failed changes) are listed; the counts tell the rest.
    pub const FAILING_SHOWN: u64 = 10;
    /// How many audit entries are listed.
    pub const RECENT_SHOWN: u64 = 8;

    /// The nodes that are not ready while it matters.
    pub fn failing_nodes(&self) -> impl Iterator<Item = &NodeCapacity> {
        self.nodes.iter().filter(|n| n.failing())
    }

    /// Whether anything is failing now.
    pub fn all_well(&self) -> bool {
        self.counts.process_count(ProcessState::Failed) == 0
            && self.counts.change_count(PendingChangeState::Failed) == 0
            && self.failing_nodes().next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: NodeKind, status: NodeStatus, processes: u64) -> NodeCapacity {
        NodeCapacity {
            id: "n".into(),
            name: "n".into(),
            kind,
            pool: None,
            owner: None,
            status,
            processes,
            nano_cpus: 0,
            memory_bytes: 0,
        }
    }

    #[test]
    fn a_node_is_usable_when_assigned_and_ready_and_failing_when_down_while_it_matters() {
        assert!(node(NodeKind::Public, NodeStatus::Ready, 0).usable());
        assert!(node(NodeKind::Private, NodeStatus::Ready, 0).usable());
        assert!(!node(NodeKind::Unidentified, NodeStatus::Ready, 0).usable());
        assert!(!node(NodeKind::Public, NodeStatus::Down, 0).usable());

        assert!(!node(NodeKind::Public, NodeStatus::Ready, 3).failing());
        assert!(node(NodeKind::Public, NodeStatus::Down, 0).failing());
        assert!(node(NodeKind::Private, NodeStatus::Missing, 0).failing());
        assert!(!node(NodeKind::Unidentified, NodeStatus::Missing, 0).failing(), "nobody's and idle");
        assert!(node(NodeKind::Unidentified, NodeStatus::Down, 1).failing(), "a process is stranded on it");
    }

    #[test]
    fn all_is_well_until_a_process_a_change_or_a_node_fails() {
        let mut o = Overview {
            counts: StateCounts {
                processes: vec![(ProcessState::Running, 2), (ProcessState::Failed, 0)],
                connections: vec![(ConnectionState::Connected, 1)],
                changes: vec![(PendingChangeState::Waiting, 1), (PendingChangeState::Failed, 0)],
            },
            nodes: vec![node(NodeKind::Public, NodeStatus::Ready, 2)],
            ..Default::default()
        };
        assert!(o.all_well());
        assert_eq!((o.counts.process_total(), o.counts.connection_total()), (2, 1));

        o.counts.processes[1].1 = 1;
        assert!(!o.all_well());
        o.counts.processes[1].1 = 0;
        o.counts.changes[1].1 = 2;
        assert!(!o.all_well());
        o.counts.changes[1].1 = 0;
        o.nodes.push(node(NodeKind::Private, NodeStatus::Down, 0));
        assert!(!o.all_well());
        assert_eq!(o.failing_nodes().count(), 1);
    }

    #[test]
    fn the_checklist_is_done_only_with_all_three_steps() {
        let mut c = Checklist::default();
        assert!(!c.done());
        c.usable_node = true;
        c.deployed = true;
        assert!(!c.done());
        c.connected = true;
        assert!(c.done());
    }
}
