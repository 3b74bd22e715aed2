//! Where things go in the cluster view. Deterministic: the same servers and
//! clients always give the same picture (no random placement, no physics).
//!
//! - Each cluster is a box; clusters sit in a grid, in order of appearance.
//! - A cluster's servers sit on a ring (so a straight route line between two
//!   servers never passes through a third), ordered by AZ so each AZ is one
//!   arc; the AZ is drawn as a band segment (a curved box) around its arc.
//! - Clients are pills just outside the ring, next to the server they are
//!   attached to (their current server, else the first one they would try);
//!   several clients of one server fan out along the ring, then in rows.

use std::f64::consts::PI;

/// Radius of a server's circle.
pub const SERVER_R: f64 = 26.0;
/// Half the thickness of an AZ band (it holds the server circles).
pub const BAND: f64 = 44.0;
/// Smallest ring radius (also for two servers).
const RING_MIN: f64 = 120.0;
/// Arc length per server on the ring.
const ARC_PER_SERVER: f64 = 140.0;
/// Half-size of the box around a cluster of one server.
const SOLO_HALF: f64 = 50.0;
/// Gap between neighbouring AZ bands, in px along the ring.
const ZONE_GAP: f64 = 6.0;
/// Client pill height and text metrics (11 px system font, approximate).
pub const PILL_H: f64 = 20.0;
const PILL_CHAR_W: f64 = 6.6;
const PILL_PAD: f64 = 14.0;
/// Longest client name shown in full in a pill (characters).
pub const PILL_MAX_CHARS: usize = 10;
const PILL_GAP: f64 = 8.0;
/// Space between the cluster's content and its box, and above for the label.
const MARGIN: f64 = 18.0;
const TITLE_H: f64 = 40.0;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pt {
    pub x: f64,
    pub y: f64,
}

impl Pt {
    pub fn new(x: f64, y: f64) -> Pt {
        Pt { x, y }
    }
    fn polar(c: Pt, r: f64, a: f64) -> Pt {
        Pt { x: c.x + r * a.cos(), y: c.y + r * a.sin() }
    }
    pub fn lerp(a: Pt, b: Pt, t: f64) -> Pt {
        Pt { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t }
    }
}

/// What the layout needs to know about a server.
#[derive(Clone, Debug)]
pub struct ServerSpec {
    pub name: String,
    pub cluster: String,
    pub az: Option<String>,
    pub region: Option<String>,
}

/// What the layout needs to know about a client.
#[derive(Clone, Debug)]
pub struct ClientSpec {
    /// The name (shortened in the pill when long).
    pub name: String,
    /// The server it sits next to.
    pub home: Option<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClusterBox {
    pub name: String,
    /// `region us-east`, `regions us-east, eu-west`, or empty.
    pub caption: String,
    pub center: Pt,
    /// The box: left, top, width, height.
    pub rect: (f64, f64, f64, f64),
    /// Ring radius (0 for a single server).
    pub ring: f64,
    /// Servers in ring order.
    pub members: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    pub cluster: usize,
    pub az: String,
    /// The AZ's name, shortened for the label.
    pub label: String,
    /// The AZ's region, on a second line, when the cluster spans regions.
    pub sublabel: Option<String>,
    /// SVG path of the band segment (or box).
    pub path: String,
    /// Centre of the label (one or two lines).
    pub label_at: Pt,
    pub servers: Vec<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pill {
    pub center: Pt,
    pub w: f64,
    pub h: f64,
}

impl Pill {
    fn bounds(&self) -> (f64, f64, f64, f64) {
        (
            self.center.x - self.w / 2.0,
            self.center.y - self.h / 2.0,
            self.center.x + self.w / 2.0,
            self.center.y + self.h / 2.0,
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub clusters: Vec<ClusterBox>,
    pub zones: Vec<Zone>,
    /// Server centres, by server index.
    pub servers: Vec<Pt>,
    /// Angle of each server on its ring (radians; down is +π/2).
    angle: Vec<f64>,
    /// Cluster of each server.
    cluster_of: Vec<usize>,
    /// Position of each server on its ring.
    ring_pos: Vec<usize>,
}

/// Width of a client's pill for its name.
pub fn pill_width(name: &str) -> f64 {
    let chars = name.chars().count().min(PILL_MAX_CHARS + 1) as f64;
    PILL_PAD + PILL_CHAR_W * chars
}

/// Characters of an AZ or region name shown in a zone label.
const ZONE_LABEL_CHARS: usize = 14;

/// A box: left, top, right, bottom.
pub type Rect = (f64, f64, f64, f64);

fn rect_at(c: Pt, w: f64, h: f64) -> Rect {
    (c.x - w / 2.0, c.y - h / 2.0, c.x + w / 2.0, c.y + h / 2.0)
}

fn hits(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

fn short_name(s: &str, max: usize) -> String {
    crate::text::display_max(s, max)
}

/// Size of a zone's label (one or two lines of 11 px text).
pub fn zone_label_size(z: &Zone) -> (f64, f64) {
    let chars = z.label.chars().count().max(z.sublabel.as_ref().map_or(0, |s| s.chars().count()));
    let lines = if z.sublabel.is_some() { 2.0 } else { 1.0 };
    (chars as f64 * 6.6 + 4.0, lines * 12.0 + 2.0)
}

fn distinct<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

impl Layout {
    /// Lay out `servers`; `clients` (at their first server) size the boxes.
    pub fn new(servers: &[ServerSpec], clients: &[ClientSpec]) -> Layout {
        let n = servers.len();
        let cluster_names = distinct(servers.iter().map(|s| s.cluster.as_str()));
        let mut layout = Layout {
            clusters: Vec::new(),
            zones: Vec::new(),
            servers: vec![Pt::new(0.0, 0.0); n],
            angle: vec![0.0; n],
            cluster_of: vec![0; n],
            ring_pos: vec![0; n],
        };
        // First pass: rings around (0, 0), one per cluster.
        for (ci, cname) in cluster_names.iter().enumerate() {
            let idx: Vec<usize> = (0..n).filter(|&i| servers[i].cluster == *cname).collect();
            // Ring order: AZs in order of appearance, servers without an AZ last.
            let azs = distinct(idx.iter().filter_map(|&i| servers[i].az.as_deref()));
            let mut members: Vec<usize> = Vec::new();
            for az in &azs {
                members.extend(idx.iter().copied().filter(|&i| servers[i].az.as_deref() == Some(*az)));
            }
            members.extend(idx.iter().copied().filter(|&i| servers[i].az.is_none()));
            let m = members.len();
            let ring = if m <= 1 { 0.0 } else { RING_MIN.max(m as f64 * ARC_PER_SERVER / (2.0 * PI)) };
            let step = if m == 0 { 0.0 } else { 2.0 * PI / m as f64 };
            let start = if m & 1 == 0 { -PI / 2.0 - PI / m.max(1) as f64 } else { -PI / 2.0 };
            for (k, &i) in members.iter().enumerate() {
                let a = if m <= 1 { PI / 2.0 } else { start + k as f64 * step };
                layout.angle[i] = a;
                layout.servers[i] = Pt::polar(Pt::new(0.0, 0.0), ring, a);
                layout.cluster_of[i] = ci;
                layout.ring_pos[i] = k;
            }
            let regions = distinct(members.iter().filter_map(|&i| servers[i].region.as_deref()));
            let caption = match regions.len() {
                0 => String::new(),
                1 => format!("region {}", regions[0]),
                _ => format!("regions {}", regions.join(", ")),
            };
            // Zones, one per AZ.
            for az in &azs {
                let zs: Vec<usize> =
                    members.iter().copied().filter(|&i| servers[i].az.as_deref() == Some(*az)).collect();
                if zs.is_empty() {
                    continue;
                }
                let zone_region = zs.iter().find_map(|&i| servers[i].region.as_deref());
                let sublabel = match zone_region {
                    Some(r) if regions.len() > 1 => Some(short_name(r, ZONE_LABEL_CHARS)),
                    _ => None,
                };
                layout.zones.push(Zone {
                    cluster: ci,
                    az: (*az).to_string(),
                    label: short_name(az, ZONE_LABEL_CHARS),
                    sublabel,
                    path: String::new(),
                    label_at: Pt::new(0.0, 0.0),
                    servers: zs,
                });
            }
            layout.clusters.push(ClusterBox {
                name: (*cname).to_string(),
                caption,
                center: Pt::new(0.0, 0.0),
                rect: (0.0, 0.0, 0.0, 0.0),
                ring,
                members,
            });
        }
        // Size each cluster's box from its ring and its clients (at their
        // first server), then place the clusters in a grid.
        let pills = layout.place_clients(clients);
        // Extents around each cluster's centre: left, top, right, bottom.
        let mut ext: Vec<(f64, f64, f64, f64)> = Vec::new();
        for (ci, cl) in layout.clusters.iter().enumerate() {
            let core = if cl.members.len() <= 1 { SOLO_HALF } else { cl.ring + BAND };
            let (mut l, mut t, mut r, mut b) = (core, core, core, core);
            for (pill, spec) in pills.iter().zip(clients) {
                let home_cluster = spec.home.and_then(|h| layout.cluster_of.get(h).copied()).unwrap_or(0);
                if home_cluster == ci {
                    l = l.max(-pill.center.x + pill.w / 2.0);
                    r = r.max(pill.center.x + pill.w / 2.0);
                    t = t.max(-pill.center.y + pill.h / 2.0);
                    b = b.max(pill.center.y + pill.h / 2.0);
                }
            }
            ext.push((l + MARGIN, t + MARGIN + TITLE_H, r + MARGIN, b + MARGIN));
        }
        let nc = layout.clusters.len().max(1);
        let cols = (nc as f64).sqrt().ceil() as usize;
        let rows = nc.div_ceil(cols);
        // Column widths and row heights from the widest / tallest member.
        let mut col_l = vec![0.0f64; cols];
        let mut col_r = vec![0.0f64; cols];
        let mut row_t = vec![0.0f64; rows];
        let mut row_b = vec![0.0f64; rows];
        for (ci, e) in ext.iter().enumerate() {
            let (c, r) = (ci % cols, ci / cols);
            col_l[c] = col_l[c].max(e.0);
            col_r[c] = col_r[c].max(e.2);
            row_t[r] = row_t[r].max(e.1);
            row_b[r] = row_b[r].max(e.3);
        }
        const GUTTER: f64 = 24.0;
        for (ci, cl) in layout.clusters.iter_mut().enumerate() {
            let (c, r) = (ci % cols, ci / cols);
            let x = (0..c).map(|k| col_l[k] + col_r[k] + GUTTER).sum::<f64>() + col_l[c];
            let y = (0..r).map(|k| row_t[k] + row_b[k] + GUTTER).sum::<f64>() + row_t[r];
            let (l, t, rr, b) = ext.get(ci).copied().unwrap_or((SOLO_HALF, SOLO_HALF, SOLO_HALF, SOLO_HALF));
            cl.center = Pt::new(x, y);
            cl.rect = (x - l, y - t, l + rr, t + b);
        }
        for i in 0..n {
            if let Some(cl) = layout.clusters.get(layout.cluster_of[i]) {
                let c = cl.center;
                layout.servers[i] = Pt::new(layout.servers[i].x + c.x, layout.servers[i].y + c.y);
            }
        }
        // Zone shapes and labels, now that the clusters have their places.
        let mut placed: Vec<Rect> = Vec::new();
        for zi in 0..layout.zones.len() {
            let (path, label_at) = layout.zone_shape(&layout.zones[zi], &placed);
            let (w, h) = zone_label_size(&layout.zones[zi]);
            placed.push(rect_at(label_at, w, h));
            layout.zones[zi].path = path;
            layout.zones[zi].label_at = label_at;
        }
        layout
    }

    /// The band segment (or box) of a zone, and where its label goes: the
    /// first spot, among a few in the band (its corners first, where route
    /// lines and clients are not), that overlaps no server and no label in
    /// `taken`.
    fn zone_shape(&self, z: &Zone, taken: &[Rect]) -> (String, Pt) {
        let Some(cl) = self.clusters.get(z.cluster) else {
            return (String::new(), Pt::new(0.0, 0.0));
        };
        let c = cl.center;
        let m = cl.members.len();
        let (w, h) = zone_label_size(z);
        if m <= 1 {
            let half = SOLO_HALF;
            return (
                rounded_rect(c.x - half, c.y - half, 2.0 * half, 2.0 * half, 12.0),
                Pt::new(c.x, c.y - half + h / 2.0 + 3.0),
            );
        }
        let (r_in, r_out) = (cl.ring - BAND, cl.ring + BAND);
        let (Some(&first), Some(&last)) = (z.servers.first(), z.servers.last()) else {
            return (String::new(), c);
        };
        let step = 2.0 * PI / m as f64;
        let (path, a0, a1) = if z.servers.len() == m {
            let a = self.angle[first] + step / 2.0;
            (annulus(c, r_in, r_out), a - step / 2.0, a + 2.0 * PI - step / 2.0)
        } else {
            let half_gap = ZONE_GAP / 2.0 / cl.ring;
            let a0 = self.angle[first] - step / 2.0 + half_gap;
            let a1 = self.angle[last] + step / 2.0 - half_gap;
            (sector(c, r_in, r_out, a0, a1), a0, a1)
        };
        // Radii: the band's outer edge, its inner edge, then just outside it.
        let radii = [r_out - h / 2.0 - 3.0, r_in + h / 2.0 + 3.0, r_out + h / 2.0 + 3.0];
        let mut candidates: Vec<Pt> = Vec::new();
        for r in radii {
            let along = (w / 2.0 + 4.0) / r;
            candidates.push(Pt::polar(c, r, a0 + along));
            candidates.push(Pt::polar(c, r, a1 - along));
            // Between the zone's servers.
            for k in 1..z.servers.len() {
                candidates.push(Pt::polar(c, r, self.angle[first] + (k as f64 - 0.5) * step));
            }
        }
        let servers: Vec<Rect> =
            self.servers.iter().map(|p| rect_at(*p, 2.0 * SERVER_R + 4.0, 2.0 * SERVER_R + 4.0)).collect();
        let free = |at: &Pt| {
            let r = rect_at(*at, w, h);
            servers.iter().chain(taken).all(|o| !hits(r, *o))
        };
        let at = candidates.iter().copied().find(free).or_else(|| candidates.first().copied()).unwrap_or(c);
        (path, at)
    }

    /// Places for route labels, `(a, b, width)` each, in order: the preferred
    /// spot ([`Layout::label_t`]) or, if that overlaps a server or a label
    /// already placed, the first free one of a few others along the line;
    /// None when the line has no free spot (its tooltip still says it).
    pub fn place_route_labels(&self, labels: &[(usize, usize, f64)]) -> Vec<Option<Pt>> {
        const H: f64 = 14.0;
        let boxed = |c: Pt, w: f64, h: f64| (c.x - w / 2.0, c.y - h / 2.0, c.x + w / 2.0, c.y + h / 2.0);
        let hit = |a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)| a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3;
        let servers: Vec<(f64, f64, f64, f64)> =
            self.servers.iter().map(|p| boxed(*p, 2.0 * SERVER_R + 2.0, 2.0 * SERVER_R + 2.0)).collect();
        let mut placed: Vec<(f64, f64, f64, f64)> = Vec::new();
        labels
            .iter()
            .map(|&(a, b, w)| {
                let (Some(&pa), Some(&pb)) = (self.servers.get(a), self.servers.get(b)) else { return None };
                let first = self.label_t(a, b);
                for t in [first, 0.5, 0.3, 0.7, 0.4, 0.6, 0.22, 0.78] {
                    let at = Pt::lerp(pa, pb, t);
                    let bx = boxed(at, w + 4.0, H);
                    if servers.iter().chain(placed.iter()).all(|o| !hit(bx, *o)) {
                        placed.push(bx);
                        return Some(at);
                    }
                }
                None
            })
            .collect()
    }

    pub fn cluster_of(&self, server: usize) -> Option<usize> {
        self.cluster_of.get(server).copied()
    }

    /// Where along the route line a--b its label goes (0 = at a, 1 = at b):
    /// the middle between ring neighbours; otherwise near one end, the ends
    /// alternating so that crossing lines (a square's diagonals) keep their
    /// labels apart.
    pub fn label_t(&self, a: usize, b: usize) -> f64 {
        if self.ring_neighbours(a, b) {
            return 0.5;
        }
        let (pa, pb) = (self.ring_pos.get(a).copied().unwrap_or(0), self.ring_pos.get(b).copied().unwrap_or(0));
        let (low_is_a, low) = if pa <= pb { (true, pa) } else { (false, pb) };
        let from_low = if low & 1 == 0 { 0.3 } else { 0.7 };
        if low_is_a {
            from_low
        } else {
            1.0 - from_low
        }
    }

    /// Are two servers neighbours on their ring?
    pub fn ring_neighbours(&self, a: usize, b: usize) -> bool {
        let (Some(&ca), Some(&cb)) = (self.cluster_of.get(a), self.cluster_of.get(b)) else {
            return false;
        };
        if ca != cb {
            return false;
        }
        let m = self.clusters.get(ca).map_or(0, |c| c.members.len());
        let (pa, pb) = (self.ring_pos[a], self.ring_pos[b]);
        m > 0 && ((pa + 1) % m == pb || (pb + 1) % m == pa)
    }

    /// Pills for clients, next to their home servers.
    pub fn place_clients(&self, clients: &[ClientSpec]) -> Vec<Pill> {
        let mut out = vec![Pill { center: Pt::new(0.0, 0.0), w: 0.0, h: PILL_H }; clients.len()];
        let n = self.servers.len();
        for s in 0..n {
            let mine: Vec<usize> = (0..clients.len()).filter(|&c| clients[c].home.unwrap_or(0) == s).collect();
            if mine.is_empty() {
                continue;
            }
            let ci = self.cluster_of[s];
            let Some(cl) = self.clusters.get(ci) else {
                continue;
            };
            let m = cl.members.len();
            let theta = self.angle[s];
            let (budget, mut base) = if m <= 1 {
                (2.0 * PI * 0.9, SOLO_HALF + 8.0)
            } else {
                (2.0 * PI / m as f64 * 0.92, cl.ring + BAND + 8.0)
            };
            let centre = Pt::new(self.servers[s].x - cl.ring * theta.cos(), self.servers[s].y - cl.ring * theta.sin());
            let mut k = 0;
            while k < mine.len() {
                let mut row: Vec<(usize, f64)> = Vec::new();
                let mut used = 0.0;
                while k < mine.len() {
                    let c = mine[k];
                    let w = pill_width(&clients[c].name);
                    let tangent = w * theta.sin().abs() + PILL_H * theta.cos().abs();
                    let need = (tangent + PILL_GAP) / (base + PILL_H);
                    if !row.is_empty() && used + need > budget {
                        break;
                    }
                    row.push((c, need));
                    used += need;
                    k += 1;
                }
                let mut a = theta - used / 2.0;
                let mut depth: f64 = 0.0;
                for (c, need) in row {
                    let ang = a + need / 2.0;
                    a += need;
                    let w = pill_width(&clients[c].name);
                    let radial = w * ang.cos().abs() + PILL_H * ang.sin().abs();
                    depth = depth.max(radial);
                    out[c] = Pill { center: Pt::polar(centre, base + radial / 2.0, ang), w, h: PILL_H };
                }
                base += depth + 6.0;
            }
        }
        out
    }

    /// The SVG viewBox (x, y, width, height) around everything, pills included.
    pub fn view_box(&self, pills: &[Pill]) -> (f64, f64, f64, f64) {
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for c in &self.clusters {
            let (x, y, w, h) = c.rect;
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x + w);
            y1 = y1.max(y + h);
        }
        for p in pills {
            let (a, b, c, d) = p.bounds();
            x0 = x0.min(a - MARGIN);
            y0 = y0.min(b - MARGIN);
            x1 = x1.max(c + MARGIN);
            y1 = y1.max(d + MARGIN);
        }
        if x0 > x1 {
            return (-100.0, -100.0, 200.0, 200.0);
        }
        (x0 - 4.0, y0 - 4.0, x1 - x0 + 8.0, y1 - y0 + 8.0)
    }
}

fn f(v: f64) -> String {
    // One decimal is plenty and keeps the DOM small and stable.
    let r = (v * 10.0).round() / 10.0;
    if r == 0.0 {
        "0".into()
    } else {
        format!("{r}")
    }
}

fn sector(c: Pt, r_in: f64, r_out: f64, a0: f64, a1: f64) -> String {
    let large = if a1 - a0 > PI { 1 } else { 0 };
    let p0 = Pt::polar(c, r_out, a0);
    let p1 = Pt::polar(c, r_out, a1);
    let q1 = Pt::polar(c, r_in, a1);
    let q0 = Pt::polar(c, r_in, a0);
    format!(
        "M {} {} A {} {} 0 {large} 1 {} {} L {} {} A {} {} 0 {large} 0 {} {} Z",
        f(p0.x),
        f(p0.y),
        f(r_out),
        f(r_out),
        f(p1.x),
        f(p1.y),
        f(q1.x),
        f(q1.y),
        f(r_in),
        f(r_in),
        f(q0.x),
        f(q0.y)
    )
}

/// A full band (drawn with `fill-rule="evenodd"`).
fn annulus(c: Pt, r_in: f64, r_out: f64) -> String {
    let circle = |r: f64, sweep: u8| {
        format!(
            "M {} {} A {} {} 0 1 {sweep} {} {} A {} {} 0 1 {sweep} {} {} Z",
            f(c.x + r),
            f(c.y),
            f(r),
            f(r),
            f(c.x - r),
            f(c.y),
            f(r),
            f(r),
            f(c.x + r),
            f(c.y)
        )
    };
    format!("{} {}", circle(r_out, 1), circle(r_in, 0))
}

fn rounded_rect(x: f64, y: f64, w: f64, h: f64, r: f64) -> String {
    format!(
        "M {} {} L {} {} A {r} {r} 0 0 1 {} {} L {} {} A {r} {r} 0 0 1 {} {} L {} {} A {r} {r} 0 0 1 {} {} L {} {} A {r} {r} 0 0 1 {} {} Z",
        f(x + r),
        f(y),
        f(x + w - r),
        f(y),
        f(x + w),
        f(y + r),
        f(x + w),
        f(y + h - r),
        f(x + w - r),
        f(y + h),
        f(x + r),
        f(y + h),
        f(x),
        f(y + h - r),
        f(x),
        f(y + r),
        f(x + r),
        f(y)
    )
}

/// Format a coordinate for an SVG attribute.
pub fn num(v: f64) -> String {
    f(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn servers(spec: &[(&str, &str, Option<&str>)]) -> Vec<ServerSpec> {
        spec.iter()
            .map(|(n, c, az)| ServerSpec {
                name: n.to_string(),
                cluster: c.to_string(),
                az: az.map(str::to_string),
                region: Some("r1".into()),
            })
            .collect()
    }

    fn mesh(n: usize, azs: usize) -> Vec<ServerSpec> {
        (0..n)
            .map(|i| ServerSpec {
                name: format!("n{}", i + 1),
                cluster: "c1".into(),
                az: (azs > 0).then(|| format!("az{}", i % azs + 1)),
                region: None,
            })
            .collect()
    }

    fn clients(n: usize, servers: usize, skew: bool) -> Vec<ClientSpec> {
        (0..n)
            .map(|i| ClientSpec { name: format!("client-{i}"), home: Some(if skew { 0 } else { i % servers.max(1) }) })
            .collect()
    }

    fn overlap(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
        a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
    }

    fn server_box(p: Pt) -> (f64, f64, f64, f64) {
        (p.x - SERVER_R, p.y - SERVER_R, p.x + SERVER_R, p.y + SERVER_R)
    }

    fn inside(a: (f64, f64, f64, f64), vb: (f64, f64, f64, f64)) -> bool {
        a.0 >= vb.0 && a.1 >= vb.1 && a.2 <= vb.0 + vb.2 && a.3 <= vb.1 + vb.3
    }

    /// Distance from p to the segment a-b.
    fn seg_dist(p: Pt, a: Pt, b: Pt) -> f64 {
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len2 = dx * dx + dy * dy;
        let t = if len2 == 0.0 { 0.0 } else { (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0) };
        let q = Pt::lerp(a, b, t);
        ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt()
    }

    #[test]
    fn readable_for_3_to_9_servers_and_up_to_12_clients() {
        for n in 3..=9 {
            for azs in [0, 1, 2, 3, n] {
                for nc in [0, 3, 6, 12] {
                    for skew in [false, true] {
                        let ss = mesh(n, azs);
                        let cs = clients(nc, n, skew);
                        let l = Layout::new(&ss, &cs);
                        let pills = l.place_clients(&cs);
                        let vb = l.view_box(&pills);
                        let what = format!("n={n} azs={azs} clients={nc} skew={skew}");
                        for i in 0..n {
                            assert!(inside(server_box(l.servers[i]), vb), "{what}: server {i} outside");
                            for j in (i + 1)..n {
                                assert!(
                                    !overlap(server_box(l.servers[i]), server_box(l.servers[j])),
                                    "{what}: servers {i},{j}"
                                );
                                // No route line passes through a third server.
                                for k in 0..n {
                                    if k != i && k != j {
                                        let d = seg_dist(l.servers[k], l.servers[i], l.servers[j]);
                                        assert!(d > SERVER_R, "{what}: route {i}-{j} crosses server {k}");
                                    }
                                }
                            }
                        }
                        for (a, pa) in pills.iter().enumerate() {
                            assert!(inside(pa.bounds(), vb), "{what}: client {a} outside");
                            for s in 0..n {
                                assert!(
                                    !overlap(pa.bounds(), server_box(l.servers[s])),
                                    "{what}: client {a} on server {s}"
                                );
                            }
                            for pb in pills.iter().skip(a + 1) {
                                assert!(!overlap(pa.bounds(), pb.bounds()), "{what}: clients overlap");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn deterministic_and_grouped_by_az() {
        let ss = servers(&[("a", "c1", Some("x")), ("b", "c1", Some("y")), ("c", "c1", Some("x")), ("d", "c1", None)]);
        let cs = clients(4, 4, false);
        assert_eq!(Layout::new(&ss, &cs), Layout::new(&ss, &cs));
        let l = Layout::new(&ss, &cs);
        // Ring order groups AZ x together, no-AZ last.
        assert_eq!(l.clusters[0].members, vec![0, 2, 1, 3]);
        assert_eq!(l.zones.iter().map(|z| z.az.as_str()).collect::<Vec<_>>(), vec!["x", "y"]);
        assert!(l.ring_neighbours(0, 2) && l.ring_neighbours(3, 0) && !l.ring_neighbours(0, 1));
    }

    #[test]
    fn zone_labels_overlap_no_server_and_no_other_label() {
        for n in 3..=9 {
            for azs in [1, 2, 3, n] {
                for long in [false, true] {
                    let ss: Vec<ServerSpec> = (0..n)
                        .map(|i| ServerSpec {
                            name: format!("n{i}"),
                            cluster: "c".into(),
                            az: Some(if long { format!("euw-{}", i % azs) } else { format!("az{}", i % azs) }),
                            region: Some(if long { format!("region-{}", i % 2) } else { "r".into() }),
                        })
                        .collect();
                    let l = Layout::new(&ss, &clients(6, n, false));
                    let boxes: Vec<Rect> = l
                        .zones
                        .iter()
                        .map(|z| {
                            let (w, h) = zone_label_size(z);
                            rect_at(z.label_at, w, h)
                        })
                        .collect();
                    let what = format!("n={n} azs={azs} long={long}");
                    for (i, b) in boxes.iter().enumerate() {
                        for s in 0..n {
                            assert!(!overlap(*b, server_box(l.servers[s])), "{what}: zone label {i} on server {s}");
                        }
                        for (j, o) in boxes.iter().enumerate().skip(i + 1) {
                            assert!(!overlap(*b, *o), "{what}: zone labels {i} and {j}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn crossing_labels_stay_apart() {
        // A square: the two diagonals cross in the middle.
        let l = Layout::new(&mesh(4, 4), &[]);
        let at = |a: usize, b: usize| Pt::lerp(l.servers[a], l.servers[b], l.label_t(a, b));
        let (d1, d2) = (at(0, 2), at(1, 3));
        let apart = ((d1.x - d2.x).powi(2) + (d1.y - d2.y).powi(2)).sqrt();
        assert!(apart > 60.0, "diagonal labels {apart} px apart");
        assert_eq!(l.label_t(0, 1), 0.5);
        assert_eq!(l.label_t(2, 0), 1.0 - l.label_t(0, 2));
    }

    #[test]
    fn route_labels_never_overlap() {
        for n in 3..=9 {
            let l = Layout::new(&mesh(n, 3), &[]);
            let mut items = Vec::new();
            for a in 0..n {
                for b in (a + 1)..n {
                    items.push((a, b, 40.0));
                }
            }
            let at = l.place_route_labels(&items);
            let boxes: Vec<(f64, f64, f64, f64)> =
                at.iter().flatten().map(|p| (p.x - 22.0, p.y - 7.0, p.x + 22.0, p.y + 7.0)).collect();
            for i in 0..boxes.len() {
                for s in 0..n {
                    assert!(!overlap(boxes[i], server_box(l.servers[s])), "n={n}: label {i} on server {s}");
                }
                for j in (i + 1)..boxes.len() {
                    assert!(!overlap(boxes[i], boxes[j]), "n={n}: labels {i} and {j}");
                }
            }
            if n <= 4 {
                assert!(at.iter().all(Option::is_some), "n={n}: every label has room");
            }
        }
    }

    #[test]
    fn several_clusters_do_not_overlap() {
        let ss = servers(&[
            ("a1", "east", Some("1")),
            ("a2", "east", Some("2")),
            ("a3", "east", Some("3")),
            ("b1", "west", Some("1")),
            ("b2", "west", Some("2")),
            ("c1", "solo", None),
        ]);
        let cs = clients(6, 6, false);
        let l = Layout::new(&ss, &cs);
        assert_eq!(l.clusters.len(), 3);
        for i in 0..3 {
            for j in (i + 1)..3 {
                let r = |c: &ClusterBox| (c.rect.0, c.rect.1, c.rect.0 + c.rect.2, c.rect.1 + c.rect.3);
                assert!(!overlap(r(&l.clusters[i]), r(&l.clusters[j])), "clusters {i} and {j}");
            }
        }
        for (s, p) in l.servers.iter().enumerate() {
            let c = &l.clusters[l.cluster_of(s).unwrap_or(0)];
            let (x, y, w, h) = c.rect;
            assert!(p.x > x && p.x < x + w && p.y > y && p.y < y + h, "server {s} in its cluster box");
        }
    }
}
