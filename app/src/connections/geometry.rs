//! The graph's geometry and rules: plain functions of the data (where boxes and ports go, where
//! edges run, which ports fit a held one), so they are unit-tested without a browser.

use std::collections::BTreeMap;

use switchyard_core::model::{
    check_fit, Connection, ConnectionState, Endpoint, Interface, InterfaceVersion, Process, Refusal,
};

use super::api::ConnectionGraph;

pub(super) const BOX_W: f64 = 250.0;
pub(super) const HEADER_H: f64 = 56.0;
pub(super) const PORT_H: f64 = 40.0;
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

/// The grid's columns for `n` boxes: up to four, then as many as make the grid about as wide as
/// it is tall (a box and its gap are 400 × ~160), so a large graph fitted whole is not a thin strip.
pub(super) fn columns(n: usize) -> usize {
    match n {
        0 | 1 => 1,
        2..=4 => 2,
        5..=9 => 3,
        10..=40 => 4,
        // Even: processes made in pairs (a sender, then its receiver) stay side by side.
        _ => ((n as f64 * 0.4).sqrt().ceil() as usize).max(4).next_multiple_of(2),
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

/// The processes whose boxes meet `area` (left, top, right, bottom in the graph's coordinates).
pub(super) fn boxes_in(l: &Layout, area: (f64, f64, f64, f64)) -> std::collections::BTreeSet<String> {
    let (x0, y0, x1, y1) = area;
    l.boxes
        .iter()
        .filter(|(_, b)| b.x <= x1 && b.x + BOX_W >= x0 && b.y <= y1 && b.y + b.h >= y0)
        .map(|(id, _)| id.clone())
        .collect()
}

/// The point on a port's left or right end where edges attach.
pub(super) fn anchor(l: &Layout, processes: &[Process], port: &PortRef, right: bool) -> Option<(f64, f64)> {
    let p = processes.iter().find(|p| p.id == port.process_id)?;
    let index = p.interfaces.iter().position(|i| i.id == port.interface_id)?;
    let b = l.boxes.get(&p.id)?;
    Some((if right { b.x + BOX_W } else { b.x }, b.y + HEADER_H + index as f64 * PORT_H + PORT_H / 2.0))
}

// Which way messages go

/// Which way messages go through an interface (or one version of it), as its labels say: an
/// output sends messages, an input receives them, a two-way interface does both. The hashes
/// alone cannot tell (a sender and its receiver mirror each other exactly), so without the
/// message types in the labels the direction is `Unknown` and drawn as two-way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Out,
    In,
    Both,
    Unknown,
}

impl Flow {
    pub fn of_version(v: &InterfaceVersion) -> Flow {
        match (&v.sends, &v.receives) {
            (Some(s), Some(r)) => match (!s.is_empty(), !r.is_empty()) {
                (true, false) => Flow::Out,
                (false, true) => Flow::In,
                (true, true) => Flow::Both,
                (false, false) => Flow::Unknown,
            },
            _ => Flow::Unknown,
        }
    }

    /// Over all versions: it is an output if some version sends, an input if some receives.
    pub fn of(i: &Interface) -> Flow {
        let flows: Vec<Flow> = i.interface_versions.iter().map(Flow::of_version).collect();
        if flows.is_empty() || flows.contains(&Flow::Unknown) {
            return Flow::Unknown;
        }
        let out = flows.iter().any(|f| matches!(f, Flow::Out | Flow::Both));
        let inp = flows.iter().any(|f| matches!(f, Flow::In | Flow::Both));
        match (out, inp) {
            (true, false) => Flow::Out,
            (false, true) => Flow::In,
            _ => Flow::Both,
        }
    }

    /// The other side's flow across a fitting pair (it receives what this one sends).
    pub fn mirrored(self) -> Flow {
        match self {
            Flow::Out => Flow::In,
            Flow::In => Flow::Out,
            f => f,
        }
    }

    /// It has a port on the right (it sends, or may).
    pub fn has_output(self) -> bool {
        !matches!(self, Flow::In)
    }

    /// It has a port on the left (it receives, or may).
    pub fn has_input(self) -> bool {
        !matches!(self, Flow::Out)
    }

    pub fn word(self) -> &'static str {
        match self {
            Flow::Out => "output",
            Flow::In => "input",
            Flow::Both => "two-way",
            Flow::Unknown => "direction not declared",
        }
    }

    /// As a `data-` attribute value.
    pub fn key(self) -> &'static str {
        match self {
            Flow::Out => "out",
            Flow::In => "in",
            Flow::Both => "both",
            Flow::Unknown => "unknown",
        }
    }
}

/// The message types an interface sends and receives over all its versions (sorted, once each).
pub fn message_types(i: &Interface) -> (Vec<String>, Vec<String>) {
    let mut sends: Vec<String> = i.interface_versions.iter().flat_map(|v| v.sends.iter().flatten().cloned()).collect();
    let mut receives: Vec<String> =
        i.interface_versions.iter().flat_map(|v| v.receives.iter().flatten().cloned()).collect();
    sends.sort();
    sends.dedup();
    receives.sort();
    receives.dedup();
    (sends, receives)
}

/// "sends TemperatureReading", "receives A, B", "sends A; receives B", or that it is not said.
pub fn messages_text(i: &Interface) -> String {
    if Flow::of(i) == Flow::Unknown {
        return "message types not declared in its labels".into();
    }
    let (sends, receives) = message_types(i);
    let mut parts = Vec::new();
    if !sends.is_empty() {
        parts.push(format!("sends {}", sends.join(", ")));
    }
    if !receives.is_empty() {
        parts.push(format!("receives {}", receives.join(", ")));
    }
    parts.join("; ")
}

/// The short line under a port's name: an arrow for the direction and the message types.
pub fn messages_short(i: &Interface) -> String {
    let (sends, receives) = message_types(i);
    match Flow::of(i) {
        Flow::Out => format!("→ {}", sends.join(", ")),
        Flow::In => format!("← {}", receives.join(", ")),
        Flow::Both if sends == receives => format!("⇄ {}", sends.join(", ")),
        Flow::Both => format!("→ {} · ← {}", sends.join(", "), receives.join(", ")),
        Flow::Unknown => "direction not declared".into(),
    }
}

/// How data flows along a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeFlow {
    /// From the first endpoint to the second (`true`) or the other way.
    OneWay {
        from_first: bool,
    },
    TwoWay,
    /// The labels do not say.
    Unknown,
}

/// The interface behind an endpoint and the version it uses.
fn endpoint_interface<'a>(
    processes: &'a [Process],
    e: &Endpoint,
) -> Option<(&'a Interface, Option<&'a InterfaceVersion>)> {
    let p = processes.iter().find(|p| p.id == e.process_id)?;
    let i = p.interfaces.iter().find(|i| i.id == e.interface_id)?;
    let v = e.interface_version_name.as_ref().and_then(|n| i.interface_versions.iter().find(|v| &v.version_name == n));
    Some((i, v))
}

/// The flow of one side of a connection: the negotiated version's, else the interface's.
fn side_flow(processes: &[Process], e: &Endpoint) -> Flow {
    match endpoint_interface(processes, e) {
        Some((_, Some(v))) if Flow::of_version(v) != Flow::Unknown => Flow::of_version(v),
        Some((i, _)) => Flow::of(i),
        None => Flow::Unknown,
    }
}

/// Which way a connection's data goes. Either side decides (the two mirror each other); the
/// first endpoint's word counts when both sides say something.
pub fn edge_flow(processes: &[Process], c: &Connection) -> EdgeFlow {
    let first = side_flow(processes, &c.endpoint1);
    let flow = if first == Flow::Unknown { side_flow(processes, &c.endpoint2).mirrored() } else { first };
    match flow {
        Flow::Out => EdgeFlow::OneWay { from_first: true },
        Flow::In => EdgeFlow::OneWay { from_first: false },
        Flow::Both => EdgeFlow::TwoWay,
        Flow::Unknown => EdgeFlow::Unknown,
    }
}

/// A connection's ends in reading order: (source, target) for a one-way connection (the
/// sender first), else the endpoints as stored.
pub fn source_target<'a>(processes: &[Process], c: &'a Connection) -> (&'a Endpoint, &'a Endpoint, EdgeFlow) {
    let flow = edge_flow(processes, c);
    match flow {
        EdgeFlow::OneWay { from_first: false } => (&c.endpoint2, &c.endpoint1, flow),
        _ => (&c.endpoint1, &c.endpoint2, flow),
    }
}

/// Where an edge runs: its path, its middle (for the label) and its arrowheads.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeGeom {
    pub path: String,
    pub mid: (f64, f64),
    /// Arrowhead polygons (SVG `points`): at the target, and at the source for a two-way edge.
    pub heads: Vec<String>,
}

/// An arrowhead touching a port dot at (x, y), pointing into the box: rightwards on a left
/// end, leftwards on a right end.
fn arrowhead(x: f64, y: f64, on_right: bool) -> String {
    let d = if on_right { -1.0 } else { 1.0 };
    let tip = x - d * 5.0;
    let base = tip - d * 11.0;
    format!("{tip:.1},{y:.1} {base:.1},{:.1} {base:.1},{:.1}", y - 5.5, y + 5.5)
}

/// An edge's path: a cubic curve from the sender's output end (right) to the receiver's input
/// end (left); a two-way or undeclared edge joins the facing ends of its ports.
pub fn edge_geometry(l: &Layout, processes: &[Process], c: &Connection) -> Option<EdgeGeom> {
    let (src, dst, flow) = source_target(processes, c);
    let a = PortRef { process_id: src.process_id.clone(), interface_id: src.interface_id.clone() };
    let b = PortRef { process_id: dst.process_id.clone(), interface_id: dst.interface_id.clone() };
    let (ba, bb) = (l.boxes.get(&a.process_id)?, l.boxes.get(&b.process_id)?);
    let (ra, rb) = match flow {
        EdgeFlow::OneWay { .. } => (true, false),
        // Boxes in one column: both right ends, the curve bulging out; else the facing ends.
        _ if (ba.x - bb.x).abs() < BOX_W / 2.0 => (true, true),
        _ if ba.x < bb.x => (true, false),
        _ => (false, true),
    };
    let (ax, ay) = anchor(l, processes, &a, ra)?;
    let (bx, by) = anchor(l, processes, &b, rb)?;
    let k = if ra == rb {
        60.0 + (ay - by).abs() * 0.12
    } else if (ra && bx < ax + 40.0) || (!ra && bx > ax - 40.0) {
        // The target is behind the source: loop out and back in.
        (((ax - bx).abs() + (ay - by).abs()) / 2.0).clamp(80.0, 220.0)
    } else {
        ((bx - ax).abs() / 2.0).max(50.0)
    };
    let dir = |right: bool| if right { 1.0 } else { -1.0 };
    let (c1x, c2x) = (ax + dir(ra) * k, bx + dir(rb) * k);
    let path = format!("M{ax:.1} {ay:.1} C{c1x:.1} {ay:.1} {c2x:.1} {by:.1} {bx:.1} {by:.1}");
    // The curve's point at t = 1/2.
    let mx = (ax + 3.0 * c1x + 3.0 * c2x + bx) / 8.0;
    let my = (ay + by) / 2.0;
    let heads = match flow {
        EdgeFlow::OneWay { .. } => vec![arrowhead(bx, by, rb)],
        EdgeFlow::TwoWay => vec![arrowhead(bx, by, rb), arrowhead(ax, ay, ra)],
        EdgeFlow::Unknown => Vec::new(),
    };
    Some(EdgeGeom { path, mid: (mx, my), heads })
}

// Pan and zoom

/// The graph's pan and zoom: a point (x, y) of the graph is drawn at (x·k + dx, y·k + dy) in
/// its box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct View {
    pub k: f64,
    pub dx: f64,
    pub dy: f64,
}

pub(super) const ZOOM_MIN: f64 = 0.1;
pub(super) const ZOOM_MAX: f64 = 3.0;
/// Below this zoom a box's words are too small to read (14 px type drawn under 6 px): boxes are
/// drawn as outlines with their names, without ports, and edges as lines (a click on a box zooms
/// in on it). A whole graph of hundreds of processes fits its box only at such a zoom.
pub(super) const DETAIL_MIN: f64 = 0.4;
/// Before the browser has measured the box (and on the server), the graph's top left corner this
/// large is drawn at 1:1 (see [`first_frame`]): a large graph is not drawn whole into a page that
/// shows its top. Four columns of boxes are this wide.
const FIRST_W: f64 = 1600.0;
const FIRST_H: f64 = 800.0;
/// Boxes this far (in the box's pixels) outside what is in view are drawn too, so a pan shows
/// them already there.
const DRAW_MARGIN: f64 = 160.0;

impl Default for View {
    fn default() -> Self {
        View { k: 1.0, dx: 0.0, dy: 0.0 }
    }
}

impl View {
    pub fn transform(&self) -> String {
        format!("translate({:.2} {:.2}) scale({:.4})", self.dx, self.dy, self.k)
    }

    /// The whole graph (`content`) in the box (`frame`), centred, never larger than life.
    pub fn fit(frame: (f64, f64), content: (f64, f64)) -> View {
        let (w, h) = frame;
        let (cw, ch) = (content.0.max(1.0), content.1.max(1.0));
        let k = (w / cw).min(h / ch).clamp(ZOOM_MIN, 1.0);
        View { k, dx: ((w - cw * k) / 2.0).max(0.0), dy: ((h - ch * k) / 2.0).max(0.0) }
    }

    /// Zoomed by `factor`, the point `at` of the box staying where it is.
    pub fn zoom_at(&self, factor: f64, at: (f64, f64)) -> View {
        let k = (self.k * factor).clamp(ZOOM_MIN, ZOOM_MAX);
        let (gx, gy) = ((at.0 - self.dx) / self.k, (at.1 - self.dy) / self.k);
        View { k, dx: at.0 - gx * k, dy: at.1 - gy * k }
    }

    /// The view a graph opens with: the whole graph when its words can be read that way
    /// ([`DETAIL_MIN`]), else its top at 1:1 (centred across when narrower than the box), with
    /// the whole a press of Fit away.
    pub fn initial(frame: (f64, f64), content: (f64, f64)) -> View {
        let fit = View::fit(frame, content);
        if fit.k >= DETAIL_MIN {
            return fit;
        }
        View { k: 1.0, dx: ((frame.0 - content.0) / 2.0).max(0.0), dy: 0.0 }
    }

    /// Whether boxes are drawn with their ports and words at this zoom.
    pub fn detailed(&self) -> bool {
        self.k >= DETAIL_MIN
    }

    /// The part of the graph in view in a box of `frame` (before it is measured: [`first_frame`]),
    /// widened by a margin: (left, top, right, bottom).
    pub fn visible(&self, frame: Option<(f64, f64)>, content: (f64, f64)) -> (f64, f64, f64, f64) {
        let (w, h) = frame.unwrap_or_else(|| first_frame(content));
        let (x0, y0) = self.to_graph((-DRAW_MARGIN, -DRAW_MARGIN));
        let (x1, y1) = self.to_graph((w + DRAW_MARGIN, h + DRAW_MARGIN));
        (x0, y0, x1, y1)
    }

    pub fn panned(&self, by: (f64, f64)) -> View {
        View { dx: self.dx + by.0, dy: self.dy + by.1, ..*self }
    }

    /// A point of the box in the graph's coordinates.
    pub fn to_graph(self, at: (f64, f64)) -> (f64, f64) {
        ((at.0 - self.dx) / self.k, (at.1 - self.dy) / self.k)
    }
}

/// The box before the browser has measured it (and on the server): the graph, or its top left
/// corner when it is larger than [`FIRST_W`] × [`FIRST_H`].
pub(super) fn first_frame(content: (f64, f64)) -> (f64, f64) {
    (content.0.min(FIRST_W).round(), content.1.min(FIRST_H).round())
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
/// The graph's box for a container `width` wide in a window `window_h` high: as tall as the
/// graph drawn at the width (not larger than life), within bounds.
pub fn frame_size(width: f64, window_h: f64, content: (f64, f64)) -> (f64, f64) {
    let scale = (width / content.0.max(1.0)).min(1.0);
    let max_h = (window_h * 0.7).max(260.0);
    (width, (content.1 * scale).clamp(260.0, max_h))
}

/// Text cut to `max` characters by an ellipsis in its middle, so both ends show (names of a
/// network's processes tend to differ at their ends: `sensor-0012`, `sensor-0013`).
pub(super) fn clip_middle(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max || max < 3 {
        return clip(s, max);
    }
    let tail = (max - 1) / 2;
    let head = max - 1 - tail;
    let mut t: String = s.chars().take(head).collect();
    t.push('…');
    t.extend(s.chars().skip(n - tail));
    t
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

/// The negotiated version pair, the sender's first: "1 ↔ 1".
pub(super) fn versions_text_in(processes: &[Process], c: &Connection) -> String {
    let (a, b, _) = source_target(processes, c);
    let v = |e: &Option<String>| e.clone().unwrap_or_else(|| "?".into());
    format!("{} ↔ {}", v(&a.interface_version_name), v(&b.interface_version_name))
}

pub(super) fn versions_text(g: &ConnectionGraph, c: &Connection) -> String {
    versions_text_in(&g.processes, c)
}

/// The arrow between a connection's ends as people read them.
pub(super) fn flow_arrow(f: EdgeFlow) -> &'static str {
    match f {
        EdgeFlow::OneWay { .. } => "→",
        EdgeFlow::TwoWay => "⇄",
        EdgeFlow::Unknown => "↔",
    }
}

/// "'a' Temperature → 'b' Temperature" with the current process names, the sender first.
pub(super) fn ends_text(g: &ConnectionGraph, c: &Connection) -> String {
    let side = |e: &Endpoint| {
        format!(
            "'{}' {}",
            process_name(g, &e.process_id, &e.process_name),
            interface_name(g, &e.process_id, &e.interface_id)
        )
    };
    let (a, b, flow) = source_target(&g.processes, c);
    format!("{} {} {}", side(a), flow_arrow(flow), side(b))
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
                // "none" stands for the empty message set.
                sends: Some(if sends == "none" { vec![] } else { vec![format!("{sends}Message")] }),
                receives: Some(if receives == "none" { vec![] } else { vec![format!("{receives}Message")] }),
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
    fn edges_run_from_the_senders_output_to_the_receivers_input() {
        let ps = example();
        let l = layout(&ps, &BTreeMap::new());
        let ay = MARGIN + HEADER_H + PORT_H / 2.0;
        // Stored counter-first, drawn sensor → counter: from A's right end to C's left end
        // (C is under A: the curve loops out and back in), with one arrowhead, at C.
        let c = connection(&ps[2], &ps[0]);
        assert_eq!(edge_flow(&ps, &c), EdgeFlow::OneWay { from_first: false });
        let (src, dst, _) = source_target(&ps, &c);
        assert_eq!((src.process_id.as_str(), dst.process_id.as_str()), ("a", "c"));
        let g = edge_geometry(&l, &ps, &c).unwrap();
        assert!(g.path.starts_with(&format!("M{:.1} {:.1}", MARGIN + BOX_W, ay)), "{}", g.path);
        let cy = l.boxes["c"].y + HEADER_H + PORT_H / 2.0;
        assert!(g.path.ends_with(&format!("{:.1} {:.1}", MARGIN, cy)), "{}", g.path);
        assert_eq!(g.heads.len(), 1);
        assert!(g.heads[0].starts_with(&format!("{:.1},{cy:.1}", MARGIN - 5.0)), "{}", g.heads[0]);

        // Two-way: the facing ends, an arrowhead at both.
        let two = |name: &str, id: &str| {
            let mut i = iface(name, "T", "T", true);
            i.interface_versions[0].sends = Some(vec!["X".into()]);
            i.interface_versions[0].receives = Some(vec!["X".into()]);
            process(id, name, vec![i])
        };
        let ps2 = vec![two("left", "l"), two("right", "r")];
        let l2 = layout(&ps2, &BTreeMap::new());
        let c2 = connection(&ps2[1], &ps2[0]);
        assert_eq!(edge_flow(&ps2, &c2), EdgeFlow::TwoWay);
        let g = edge_geometry(&l2, &ps2, &c2).unwrap();
        assert!(g.path.starts_with(&format!("M{:.1}", l2.boxes["r"].x)), "{}", g.path);
        assert!(g.path.ends_with(&format!("{:.1} {ay:.1}", MARGIN + BOX_W)), "{}", g.path);
        assert_eq!(g.heads.len(), 2);

        // No message types in the labels: no direction, no arrowhead.
        let mut bare = ps.clone();
        for p in &mut bare {
            for v in &mut p.interfaces[0].interface_versions {
                (v.sends, v.receives) = (None, None);
            }
        }
        let c3 = connection(&bare[0], &bare[2]);
        assert_eq!(edge_flow(&bare, &c3), EdgeFlow::Unknown);
        assert!(edge_geometry(&l, &bare, &c3).unwrap().heads.is_empty());
        assert_eq!(Flow::of(&bare[0].interfaces[0]), Flow::Unknown);

        // An end on a process that is not drawn: no edge.
        let mut gone = connection(&ps[0], &ps[2]);
        gone.endpoint2.process_id = "zz".into();
        assert!(edge_geometry(&l, &ps, &gone).is_none());
    }

    #[test]
    fn flows_and_message_types_come_from_the_labels() {
        let ps = example();
        assert_eq!(Flow::of(&ps[0].interfaces[0]), Flow::Out);
        assert_eq!(Flow::of(&ps[2].interfaces[0]), Flow::In);
        assert_eq!(messages_text(&ps[0].interfaces[0]), "sends TMessage");
        assert_eq!(messages_short(&ps[2].interfaces[0]), "← TMessage");
        assert!(Flow::Out.has_output() && !Flow::Out.has_input());
        assert!(Flow::Unknown.has_output() && Flow::Unknown.has_input());
        // A version that relays next to one that only receives: both sides.
        let mut relay = ps[2].interfaces[0].clone();
        let mut v2 = relay.interface_versions[0].clone();
        v2.version_name = "2".into();
        v2.sends = Some(vec!["TMessage".into()]);
        relay.interface_versions.push(v2);
        assert_eq!(Flow::of(&relay), Flow::Both);
    }

    #[test]
    fn fit_zoom_and_pan() {
        let fit = View::fit((400.0, 300.0), (800.0, 300.0));
        assert_eq!(fit.k, 0.5);
        assert_eq!((fit.dx, fit.dy), (0.0, 75.0));
        // Never larger than life: a small graph is centred at 1:1.
        let small = View::fit((1000.0, 500.0), (400.0, 300.0));
        assert_eq!((small.k, small.dx, small.dy), (1.0, 300.0, 100.0));
        // Zooming keeps the point under the pointer in place.
        let z = fit.zoom_at(2.0, (100.0, 100.0));
        assert_eq!(z.k, 1.0);
        let before = fit.to_graph((100.0, 100.0));
        let after = z.to_graph((100.0, 100.0));
        assert!((before.0 - after.0).abs() < 1e-9 && (before.1 - after.1).abs() < 1e-9);
        assert_eq!(z.zoom_at(100.0, (0.0, 0.0)).k, ZOOM_MAX);
        assert_eq!(fit.panned((10.0, -5.0)).dx, 10.0);
        assert_ne!(z.transform(), fit.transform());
        // The box: as tall as the graph at that width, within bounds.
        assert_eq!(frame_size(390.0, 844.0, (780.0, 1000.0)), (390.0, 500.0));
        assert_eq!(frame_size(1200.0, 900.0, (700.0, 100.0)), (1200.0, 260.0));
        assert_eq!(frame_size(1200.0, 900.0, (700.0, 5000.0)).1, 630.0);
    }

    #[test]
    fn a_large_graph_opens_at_its_top_and_draws_what_is_in_view() {
        // Small: the whole graph, as before.
        assert_eq!(View::initial((1000.0, 500.0), (400.0, 300.0)), View::fit((1000.0, 500.0), (400.0, 300.0)));
        assert_eq!(View::initial((390.0, 600.0), (714.0, 300.0)).k, 390.0 / 714.0);
        assert_eq!((columns(40), columns(41), columns(200), columns(500), columns(1000)), (4, 6, 10, 16, 20));
        // 200 boxes in 4 columns: fitting would draw them at a tenth; the top at 1:1 instead.
        let big = View::initial((1400.0, 700.0), (1214.0, 8000.0));
        assert_eq!((big.k, big.dx, big.dy), (1.0, 93.0, 0.0));
        assert!(big.detailed() && !View::fit((1400.0, 700.0), (1214.0, 8000.0)).detailed());
        // What is drawn: the boxes in view and a margin around it.
        let processes: Vec<Process> =
            (0..200).map(|i| process(&format!("p{i:03}"), "x", vec![iface("s", "T", "none", true)])).collect();
        let l = layout(&processes, &BTreeMap::new());
        let top = boxes_in(&l, big.visible(Some((1400.0, 700.0)), (l.width, l.height)));
        assert!(top.contains(&processes[0].id) && top.contains(&processes[3].id));
        assert!(!top.contains(&processes[199].id));
        assert!(top.len() < 40, "{} boxes drawn", top.len());
        // Before measuring: the top left corner of the graph.
        assert_eq!(first_frame((l.width, l.height)), (1600.0, 800.0));
        assert_eq!(first_frame((714.0, 300.0)), (714.0, 300.0));
        let first = boxes_in(&l, View::default().visible(None, (l.width, l.height)));
        assert!(first.len() <= 30 && first.contains(&processes[0].id), "{} boxes drawn first", first.len());
        // The whole graph fitted: every box.
        let all = View::fit((1400.0, 700.0), (l.width, l.height));
        assert_eq!(boxes_in(&l, all.visible(Some((1400.0, 700.0)), (l.width, l.height))).len(), 200);
    }

    #[test]
    fn port_keys_round_trip() {
        let p = PortRef { process_id: "0123abcd".into(), interface_id: "svc/with space".into() };
        assert_eq!(PortRef::parse(&p.key()), Some(p));
        assert_eq!(PortRef::parse("nospace"), None);
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(clip_middle("sensor-0012", 9), "sens…0012");
        assert_eq!(clip_middle("kitchen", 9), "kitchen");
    }
}
