//! The graph's geometry and rules: plain functions of the data (where boxes and ports go, where
//! edges run, which ports fit a held one), so they are unit-tested without a browser.

use std::collections::BTreeMap;

use switchyard_core::model::{check_fit, Connection, ConnectionState, Process, Refusal};

use super::api::ConnectionGraph;

pub(super) const BOX_W: f64 = 250.0;
pub(super) const HEADER_H: f64 = 56.0;
pub(super) const PORT_H: f64 = 30.0;
pub(super) const BOX_PAD: f64 = 8.0;
pub(super) const GAP_X: f64 = 150.0;
pub(super) const GAP_Y: f64 = 56.0;
pub(super) const MARGIN: f64 = 32.0;
/// How far the pointer must move before a press on a port is a drag rather than a click.
#[cfg(feature = "hydrate")]
pub(super) const DRAG_SLOP: f64 = 4.0;

/// An interface of a process.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRef {
    pub process_id: String,
    pub interface_id: String,
}

impl PortRef {
    pub fn of(p: &Process, interface_id: &str) -> Self {
        PortRef { process_id: p.id.clone(), interface_id: interface_id.to_string() }
    }

    /// As an option value: the process id (hex, no spaces) first.
    pub fn key(&self) -> String {
        format!("{} {}", self.process_id, self.interface_id)
    }

    pub fn parse(key: &str) -> Option<Self> {
        key.split_once(' ').map(|(p, i)| PortRef { process_id: p.into(), interface_id: i.into() })
    }
}

/// Whether each other port fits the one held, with the versions it would use or why not.
pub type FitMap = BTreeMap<PortRef, Result<(String, String), Refusal>>;

/// Every port's verdict seen from `from` (the port itself is left out).
pub fn fits_from(processes: &[Process], connections: &[Connection], from: &PortRef) -> FitMap {
    let mut out = FitMap::new();
    let Some(a) = processes.iter().find(|p| p.id == from.process_id) else { return out };
    for b in processes {
        for i in &b.interfaces {
            let to = PortRef::of(b, &i.id);
            if &to != from {
                out.insert(to, check_fit(a, &from.interface_id, b, &i.id, connections));
            }
        }
    }
    out
}

/// The verdict for one pair, also when a process has gone meanwhile.
pub(super) fn verdict(g: &ConnectionGraph, from: &PortRef, to: &PortRef) -> Result<(String, String), Refusal> {
    let find = |r: &PortRef| g.processes.iter().find(|p| p.id == r.process_id);
    match (find(from), find(to)) {
        (Some(a), Some(b)) => check_fit(a, &from.interface_id, b, &to.interface_id, &g.connections),
        _ => Err(Refusal::UnknownInterface { message: "that process no longer exists".into() }),
    }
}

/// Where a process box is: its top left corner and height.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxGeom {
    pub x: f64,
    pub y: f64,
    pub h: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    pub boxes: BTreeMap<String, BoxGeom>,
    pub width: f64,
    pub height: f64,
}

pub fn box_height(p: &Process) -> f64 {
    HEADER_H + PORT_H * p.interfaces.len().max(1) as f64 + BOX_PAD
}

pub(super) fn columns(n: usize) -> usize {
    match n {
        0 | 1 => 1,
        2..=4 => 2,
        5..=9 => 3,
        _ => 4,
    }
}

/// A grid in creation order, row by row; boxes the user moved keep their place.
pub fn layout(processes: &[Process], moved: &BTreeMap<String, (f64, f64)>) -> Layout {
    let cols = columns(processes.len());
    let rows = processes.len().div_ceil(cols);
    let mut row_h = vec![0.0f64; rows];
    for (i, p) in processes.iter().enumerate() {
        row_h[i / cols] = row_h[i / cols].max(box_height(p));
    }
    let mut row_y = Vec::with_capacity(rows);
    let mut y = MARGIN;
    for h in &row_h {
        row_y.push(y);
        y += h + GAP_Y;
    }
    let mut out = Layout { width: 2.0 * MARGIN + BOX_W, height: 2.0 * MARGIN + HEADER_H, ..Default::default() };
    for (i, p) in processes.iter().enumerate() {
        let (x, y) = moved
            .get(&p.id)
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .unwrap_or((MARGIN + (i % cols) as f64 * (BOX_W + GAP_X), row_y[i / cols]));
        let h = box_height(p);
        out.width = out.width.max(x + BOX_W + MARGIN);
        out.height = out.height.max(y + h + MARGIN);
        out.boxes.insert(p.id.clone(), BoxGeom { x, y, h });
    }
    out
}

/// The point on a port's left or right end where edges attach.
pub(super) fn anchor(l: &Layout, processes: &[Process], port: &PortRef, right: bool) -> Option<(f64, f64)> {
    let p = processes.iter().find(|p| p.id == port.process_id)?;
    let index = p.interfaces.iter().position(|i| i.id == port.interface_id)?;
    let b = l.boxes.get(&p.id)?;
    Some((if right { b.x + BOX_W } else { b.x }, b.y + HEADER_H + index as f64 * PORT_H + PORT_H / 2.0))
}

/// An edge's path (a cubic curve between the facing ends of its two ports) and its middle.
pub fn edge_geometry(l: &Layout, processes: &[Process], c: &Connection) -> Option<(String, f64, f64)> {
    let a = PortRef { process_id: c.endpoint1.process_id.clone(), interface_id: c.endpoint1.interface_id.clone() };
    let b = PortRef { process_id: c.endpoint2.process_id.clone(), interface_id: c.endpoint2.interface_id.clone() };
    let (ba, bb) = (l.boxes.get(&a.process_id)?, l.boxes.get(&b.process_id)?);
    // Boxes in one column: both right ends, the curve bulging out; else the facing ends.
    let (ra, rb) = if (ba.x - bb.x).abs() < BOX_W / 2.0 {
        (true, true)
    } else if ba.x < bb.x {
        (true, false)
    } else {
        (false, true)
    };
    let (ax, ay) = anchor(l, processes, &a, ra)?;
    let (bx, by) = anchor(l, processes, &b, rb)?;
    let k = if ra == rb { 60.0 + (ay - by).abs() * 0.12 } else { ((bx - ax).abs() / 2.0).max(50.0) };
    let dir = |right: bool| if right { 1.0 } else { -1.0 };
    let (c1x, c2x) = (ax + dir(ra) * k, bx + dir(rb) * k);
    let path = format!("M{ax:.1} {ay:.1} C{c1x:.1} {ay:.1} {c2x:.1} {by:.1} {bx:.1} {by:.1}");
    // The curve's point at t = 1/2.
    let mx = (ax + 3.0 * c1x + 3.0 * c2x + bx) / 8.0;
    let my = (ay + by) / 2.0;
    Some((path, mx, my))
}

/// Text cut to `max` characters, with an ellipsis when cut.
pub(super) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub(super) fn process_name(g: &ConnectionGraph, id: &str, fallback: &str) -> String {
    g.processes.iter().find(|p| p.id == id).map(|p| p.name.clone()).unwrap_or_else(|| fallback.to_string())
}

pub(super) fn interface_name(g: &ConnectionGraph, process_id: &str, interface_id: &str) -> String {
    g.processes
        .iter()
        .find(|p| p.id == process_id)
        .and_then(|p| p.interfaces.iter().find(|i| i.id == interface_id))
        .map(|i| i.name.clone())
        .unwrap_or_else(|| interface_id.to_string())
}

pub(super) fn versions_text(c: &Connection) -> String {
    let v = |e: &Option<String>| e.clone().unwrap_or_else(|| "?".into());
    format!("{} ↔ {}", v(&c.endpoint1.interface_version_name), v(&c.endpoint2.interface_version_name))
}

/// "'a' Temperature ↔ 'b' Temperature" with the current process names.
pub(super) fn ends_text(g: &ConnectionGraph, c: &Connection) -> String {
    let side = |e: &switchyard_core::model::Endpoint| {
        format!(
            "'{}' {}",
            process_name(g, &e.process_id, &e.process_name),
            interface_name(g, &e.process_id, &e.interface_id)
        )
    };
    format!("{} ↔ {}", side(&c.endpoint1), side(&c.endpoint2))
}

/// The state as people read it: `TERMINATING` while termination is under way.
pub(super) fn state_word(c: &Connection) -> &'static str {
    if c.terminating && c.state != ConnectionState::Terminated {
        "TERMINATING"
    } else {
        c.state.as_str()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use chrono::Utc;
    use switchyard_core::model::{Interface, InterfaceVersion, ProcessState};

    pub(in crate::connections) fn iface(service: &str, sends: &str, receives: &str, multiple: bool) -> Interface {
        Interface {
            id: format!("{service}/temperature"),
            name: "Temperature".into(),
            service_id: service.into(),
            interface_versions: vec![InterfaceVersion {
                version_name: "1".into(),
                receives_hash: receives.into(),
                sends_hash: sends.into(),
            }],
            allow_multiple: multiple,
            auto_connect: false,
        }
    }

    pub(in crate::connections) fn process(id: &str, name: &str, interfaces: Vec<Interface>) -> Process {
        let service = interfaces.first().map(|i| i.service_id.clone()).unwrap_or_default();
        Process {
            id: id.into(),
            state: ProcessState::Running,
            state_reason: None,
            revision: 1,
            ..super::super::draft::staged_process("u1", name, &service, "1.0.0", interfaces)
        }
    }

    fn example() -> Vec<Process> {
        vec![
            process("a", "sensor A", vec![iface("sensor", "T", "none", true)]),
            process("b", "sensor B", vec![iface("sensor", "T", "none", true)]),
            process("c", "counter", vec![iface("counter", "none", "T", false)]),
        ]
    }

    fn connection(a: &Process, b: &Process) -> Connection {
        let end = |p: &Process| switchyard_core::model::Endpoint {
            process_id: p.id.clone(),
            interface_id: p.interfaces[0].id.clone(),
            interface_version_name: Some("1".into()),
            process_name: p.name.clone(),
        };
        Connection {
            id: "c1".into(),
            user_id: "u1".into(),
            endpoint1: end(a),
            endpoint2: end(b),
            port: 5001,
            state: ConnectionState::Connected,
            state_reason: None,
            terminating: false,
            created: Utc::now(),
            updated: Utc::now(),
            revision: 1,
        }
    }

    #[test]
    fn ports_fit_as_the_server_decides() {
        let ps = example();
        let from = PortRef::of(&ps[0], "sensor/temperature");
        let fits = fits_from(&ps, &[], &from);
        assert_eq!(fits.len(), 2, "the held port itself is left out");
        assert!(fits[&PortRef::of(&ps[2], "counter/temperature")].is_ok());
        let other = fits[&PortRef::of(&ps[1], "sensor/temperature")].as_ref().unwrap_err();
        assert!(other.message().contains("do not fit"), "{}", other.message());

        // The counter allows one connection: once it has one, nothing else fits it.
        let c = connection(&ps[2], &ps[0]);
        let from = PortRef::of(&ps[2], "counter/temperature");
        let fits = fits_from(&ps, std::slice::from_ref(&c), &from);
        let b = fits[&PortRef::of(&ps[1], "sensor/temperature")].as_ref().unwrap_err();
        assert!(b.message().contains("allows only one connection"), "{}", b.message());
        // A terminating connection no longer counts.
        let ending = Connection { terminating: true, ..c };
        assert!(fits_from(&ps, &[ending], &from)[&PortRef::of(&ps[1], "sensor/temperature")].is_ok());
    }

    #[test]
    fn layout_is_a_grid_in_creation_order_and_keeps_moved_boxes() {
        let ps = example();
        let l = layout(&ps, &BTreeMap::new());
        let (a, b, c) = (&l.boxes["a"], &l.boxes["b"], &l.boxes["c"]);
        assert_eq!((a.x, a.y), (MARGIN, MARGIN));
        assert_eq!(b.y, a.y);
        assert!(b.x > a.x + BOX_W);
        assert_eq!(c.x, a.x);
        assert!(c.y > a.y + a.h);
        assert!(l.width >= b.x + BOX_W && l.height >= c.y + c.h);
        let moved = BTreeMap::from([("c".to_string(), (900.0, 10.0))]);
        let l = layout(&ps, &moved);
        assert_eq!((l.boxes["c"].x, l.boxes["c"].y), (900.0, 10.0));
        assert!(l.width >= 900.0 + BOX_W);
    }

    #[test]
    fn edges_join_facing_port_ends() {
        let ps = example();
        let l = layout(&ps, &BTreeMap::new());
        // Side by side: from A's right end to B's left end.
        let (path, mx, _) = edge_geometry(&l, &ps, &connection(&ps[0], &ps[1])).unwrap();
        let ay = MARGIN + HEADER_H + PORT_H / 2.0;
        assert!(path.starts_with(&format!("M{:.1} {:.1}", MARGIN + BOX_W, ay)), "{path}");
        assert!(path.ends_with(&format!("{:.1} {:.1}", l.boxes["b"].x, ay)), "{path}");
        assert!(mx > MARGIN + BOX_W && mx < l.boxes["b"].x);
        // One column: both right ends, bulging right.
        let (path, mx, _) = edge_geometry(&l, &ps, &connection(&ps[0], &ps[2])).unwrap();
        assert!(path.starts_with(&format!("M{:.1}", MARGIN + BOX_W)), "{path}");
        assert!(mx > MARGIN + BOX_W);
        // An end on a process that is not drawn: no edge.
        let mut gone = connection(&ps[0], &ps[2]);
        gone.endpoint2.process_id = "zz".into();
        assert!(edge_geometry(&l, &ps, &gone).is_none());
    }

    #[test]
    fn port_keys_round_trip() {
        let p = PortRef { process_id: "0123abcd".into(), interface_id: "svc/with space".into() };
        assert_eq!(PortRef::parse(&p.key()), Some(p));
        assert_eq!(PortRef::parse("nospace"), None);
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
