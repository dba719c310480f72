//! Scenario specs: a TOML file naming a model, a mesh and the axes of a grid of futures.
//!
//! ```toml
//! model = "models/knative-1.11-istio-1.18.json"   # relative to the current directory
//! # topology = "data/topology-example.toml"       # or a generated mesh:
//! [mesh]
//! gateways = 2              # gateway proxies (see every revision; not scoped by Sidecars)
//! plain_ports = 1           # ports per plain Service
//! infra_ports = 20          # istio-system / knative-serving ports every proxy sees
//! filter_gateway_cluster_config = false
//! istio_version = "1.18.2"  # ExternalName aliases from 1.21 (also --istio-version)
//! knative_version = "1.11.0" # 7 ports per revision from 1.21 (also --knative-version)
//! start = "empty"           # or revisions per service at day 0
//! unrouted_share = 0.0      # share of updates whose revision never routes (stays pending):
//!                           # GC never collects those, so they add up beyond its cap
//! [axes]                    # each a non-empty list; absent axes take one default value
//! namespaces = [4, 8]
//! knative_services = [10, 25]          # per namespace
//! plain_services = [5]                 # per namespace
//! updates_per_day = [0.5, 1, 5, 20]    # per Knative service
//! retain_since_create_time = ["48h"]   # or "disabled"
//! retain_since_last_active_time = ["15h"]
//! min_non_active_revisions = [20]
//! max_non_active_revisions = [1000, "disabled"]
//! scope = ["mesh", "namespace"]       # with a topology also per namespace: "namespace; shop=mesh"
//! transient = [1.0, 1.5]
//! headroom = ["10%"]
//! level = [0.95]
//! limit = ["512Mi", "1Gi", "2Gi"]
//! [simulate]
//! horizon_days = 90
//! paths = 1000
//! weekend_factor = 1.0      # update rate on Saturdays and Sundays relative to weekdays
//! high_water_mark = true    # freed heap is held until 100 MiB of it is returned
//! gc_resync = "10h"         # Knative's informer resync: the longest a stale revision waits
//! ```

mod axes;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use axes::{Axes, AXES};

use crate::error::{Error, Location, Result};
use crate::mesh::gc::{parse_duration_h, parse_max_non_active, parse_min_non_active};
use crate::mesh::{Topology, Version, Versions};

/// Where the mesh comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum MeshSource {
    /// A generated mesh: `namespaces` x (`knative_services` + `plain_services`), all with
    /// sidecars.
    Generated {
        /// Gateway proxies.
        gateways: u32,
        /// Ports per plain Service.
        plain_ports: u32,
        /// Ports of platform Services every proxy sees.
        infra_ports: u32,
        /// istiod's `PILOT_FILTER_GATEWAY_CLUSTER_CONFIG`.
        filter_gateway_cluster_config: bool,
        /// Istio and Knative releases (`[mesh] istio_version`, `knative_version`).
        versions: Versions,
    },
    /// A topology file; its Knative services' revisions follow the GC axes.
    Topology(Box<Topology>),
}

/// Monte Carlo settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimSettings {
    /// Days simulated.
    pub horizon_days: u32,
    /// Paths per scenario.
    pub paths: u32,
    /// Weekend update rate relative to weekdays (1.0: no pattern).
    pub weekend_factor: f64,
    /// Memory holds its peak since the last restart until the heap freed by GC reaches
    /// 100 MiB, which Envoy returns after the xDS update (`Memory::Utils::tryShrinkHeap`).
    pub high_water_mark: bool,
    /// Hours between the GC passes that run without an update (Knative's informer resync,
    /// 10h); 0: a pass at every daily sample.
    pub gc_resync_h: f64,
}

/// A parsed, validated scenario spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// The spec file.
    pub path: PathBuf,
    /// The model file.
    pub model: PathBuf,
    /// The mesh.
    pub mesh: MeshSource,
    /// Revisions per Knative service at day 0 (1: a new service with its first revision).
    pub start_revisions: f64,
    /// Share of updates whose revision never routes (`[mesh] unrouted_share`): it stays
    /// `pending`, which Knative's GC never collects (knative/serving `pkg/reconciler/gc/gc.go`
    /// `isRevisionActive` at knative-v1.11.0), so such revisions add up without its cap.
    pub unrouted_share: f64,
    /// The axes.
    pub axes: Axes,
    /// Monte Carlo settings.
    pub simulate: SimSettings,
}

impl Spec {
    /// Count the mesh at these releases (`--istio-version`, `--knative-version`), overriding
    /// the topology's or the `[mesh]` section's.
    pub fn set_versions(&mut self, istio: Option<Version>, knative: Option<Version>) {
        match &mut self.mesh {
            MeshSource::Topology(t) => t.set_versions(istio, knative),
            MeshSource::Generated { versions, .. } => {
                let i = istio.or((!versions.istio_assumed).then_some(versions.istio));
                let k = knative.or((!versions.knative_assumed).then_some(versions.knative));
                *versions = Versions::new(i, k);
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    model: String,
    topology: Option<String>,
    mesh: Option<RawMesh>,
    axes: Option<toml::Table>,
    simulate: Option<RawSim>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMesh {
    gateways: Option<u32>,
    plain_ports: Option<u32>,
    infra_ports: Option<u32>,
    filter_gateway_cluster_config: Option<bool>,
    start: Option<toml::Value>,
    istio_version: Option<String>,
    knative_version: Option<String>,
    unrouted_share: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSim {
    horizon_days: Option<u32>,
    paths: Option<u32>,
    weekend_factor: Option<f64>,
    high_water_mark: Option<bool>,
    gc_resync: Option<String>,
}

impl Spec {
    /// Read and validate a spec file.
    pub fn load(path: &Path) -> Result<Spec> {
        let text = crate::output::read_input_text(path)?;
        Spec::parse(path, &text)
    }

    /// Parse spec TOML; `path` is for messages and resolving nothing else.
    pub fn parse(path: &Path, text: &str) -> Result<Spec> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let raw: RawSpec = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| line_of(s.start));
            Error::parse(format!("bad scenario spec: {}", e.message().trim()), Location::new(path, line))
        })?;
        let axis_line = |key: &str| {
            let needle = format!("\n{key}");
            text.find(&needle).map_or(0, |o| line_of(o + 1))
        };
        let bad =
            |key: &str, msg: String| Error::parse(format!("axes.{key}: {msg}"), Location::new(path, axis_line(key)));
        let mut table = raw.axes.unwrap_or_default();
        for key in table.keys() {
            if !AXES.contains(&key.as_str()) {
                return Err(bad(key, format!("unknown axis; axes are: {}", AXES.join(", "))));
            }
        }
        let mut take = |key: &str, default: toml::Value| -> Result<Vec<toml::Value>> {
            match table.remove(key) {
                None => Ok(vec![default]),
                Some(toml::Value::Array(a)) if a.is_empty() => {
                    Err(bad(key, "the list is empty; give at least one value".into()))
                }
                Some(toml::Value::Array(a)) => Ok(a),
                Some(other) => Ok(vec![other]),
            }
        };
        let count = |key: &str, v: &toml::Value| -> Result<u32> {
            match v {
                toml::Value::Integer(i) if *i >= 0 && *i <= i64::from(u32::MAX) => Ok(*i as u32),
                other => Err(bad(key, format!("{other} is not a whole number of at least 0"))),
            }
        };
        let number = |key: &str, v: &toml::Value| -> Result<f64> {
            let x = match v {
                toml::Value::Integer(i) => *i as f64,
                toml::Value::Float(f) => *f,
                other => return Err(bad(key, format!("{other} is not a number"))),
            };
            if !x.is_finite() || x < 0.0 {
                return Err(bad(key, format!("{x} is negative or not finite")));
            }
            Ok(x)
        };
        let duration = |key: &str, v: &toml::Value| -> Result<Option<f64>> {
            match v {
                toml::Value::String(s) => parse_duration_h(s).map_err(|e| bad(key, e.to_string())),
                other => Err(bad(key, format!("{other} must be a duration like \"48h\" or \"disabled\""))),
            }
        };
        let count_or_disabled = |key: &str, v: &toml::Value| -> Result<Option<u32>> {
            match v {
                // Knative's own parsing of the ConfigMap string (pkg/gc/config.go), as the flags of
                // `fleet` read it.
                toml::Value::String(s) => parse_max_non_active(s).map_err(|e| bad(key, e.to_string())),
                other => count(key, other).map(Some),
            }
        };
        let text_of = |v: &toml::Value| match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        use toml::Value as V;
        let axes = Axes {
            namespaces: take("namespaces", V::Integer(10))?
                .iter()
                .map(|v| count("namespaces", v))
                .collect::<Result<_>>()?,
            knative_services: take("knative_services", V::Integer(20))?
                .iter()
                .map(|v| count("knative_services", v))
                .collect::<Result<_>>()?,
            plain_services: take("plain_services", V::Integer(5))?
                .iter()
                .map(|v| count("plain_services", v))
                .collect::<Result<_>>()?,
            updates_per_day: take("updates_per_day", V::Float(1.0))?
                .iter()
                .map(|v| number("updates_per_day", v))
                .collect::<Result<_>>()?,
            retain_since_create_h: take("retain_since_create_time", V::String("48h".into()))?
                .iter()
                .map(|v| duration("retain_since_create_time", v))
                .collect::<Result<_>>()?,
            retain_since_last_active_h: take("retain_since_last_active_time", V::String("15h".into()))?
                .iter()
                .map(|v| duration("retain_since_last_active_time", v))
                .collect::<Result<_>>()?,
            // Knative parses min-non-active-revisions as an integer: no "disabled" (pkg/gc/config.go).
            min_non_active: take("min_non_active_revisions", V::Integer(20))?
                .iter()
                .map(|v| match v {
                    V::String(s) => parse_min_non_active(s).map_err(|e| bad("min_non_active_revisions", e.to_string())),
                    other => count("min_non_active_revisions", other),
                })
                .collect::<Result<_>>()?,
            max_non_active: take("max_non_active_revisions", V::Integer(1000))?
                .iter()
                .map(|v| count_or_disabled("max_non_active_revisions", v))
                .collect::<Result<_>>()?,
            scope: take("scope", V::String("mesh".into()))?
                .iter()
                .map(|v| axes::scope_value(v).map_err(|e| bad("scope", e.to_string())))
                .collect::<Result<_>>()?,
            transient: take("transient", V::Float(1.0))?
                .iter()
                .map(|v| {
                    let x = number("transient", v)?;
                    if x < 1.0 {
                        return Err(bad("transient", format!("{x} is below 1.0 (1.0 = no transient, 1.5 cautious)")));
                    }
                    Ok(x)
                })
                .collect::<Result<_>>()?,
            headroom: take("headroom", V::Float(0.0))?
                .iter()
                .map(|v| {
                    let x = match v {
                        V::String(s) => crate::project::parse_fraction(s).map_err(|e| bad("headroom", e))?,
                        other => number("headroom", other)?,
                    };
                    if x >= 1.0 {
                        return Err(bad("headroom", format!("{x} lies outside [0, 100%)")));
                    }
                    Ok(x)
                })
                .collect::<Result<_>>()?,
            level: take("level", V::Float(0.95))?
                .iter()
                .map(|v| {
                    let x = number("level", v)?;
                    crate::model::check_level(x).map_err(|e| bad("level", e.to_string()))?;
                    Ok(x)
                })
                .collect::<Result<_>>()?,
            limit: take("limit", V::String("1Gi".into()))?
                .iter()
                .map(|v| {
                    let q = crate::quantity::parse_quantity(&text_of(v)).map_err(|e| bad("limit", e))?;
                    if q <= 0.0 {
                        return Err(bad("limit", "a limit must be positive".into()));
                    }
                    Ok(q)
                })
                .collect::<Result<_>>()?,
        };
        let mesh_raw = raw.mesh.unwrap_or(RawMesh {
            gateways: None,
            plain_ports: None,
            infra_ports: None,
            filter_gateway_cluster_config: None,
            start: None,
            istio_version: None,
            knative_version: None,
            unrouted_share: None,
        });
        let version = |key: &str, v: &Option<String>| -> Result<Option<Version>> {
            v.as_deref().map(|v| Version::parse(v).map_err(|e| bad(key, e.to_string()))).transpose()
        };
        let (istio, knative) = (
            version("istio_version", &mesh_raw.istio_version)?,
            version("knative_version", &mesh_raw.knative_version)?,
        );
        let start_revisions = match &mesh_raw.start {
            None => 1.0,
            Some(V::String(s)) if s == "empty" => 1.0,
            Some(v) => {
                let x = number("start", v).map_err(|e| Error::invalid(e.to_string().replace("axes.", "mesh.")))?;
                x.max(1.0)
            }
        };
        let unrouted_share = mesh_raw.unrouted_share.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&unrouted_share) {
            let line = text.find("unrouted_share").map_or(0, line_of);
            return Err(Error::parse(
                format!("mesh.unrouted_share must be a share from 0 to 1 (0.05: 1 update in 20 never routes), but {unrouted_share} is not"),
                Location::new(path, line),
            ));
        }
        let mesh = match raw.topology {
            Some(t) => {
                for key in ["namespaces", "knative_services", "plain_services"] {
                    if text.contains(&format!("\n{key}")) {
                        return Err(bad(key, "a topology file fixes the mesh: drop this axis or the topology".into()));
                    }
                }
                if mesh_raw.gateways.is_some() || mesh_raw.plain_ports.is_some() || mesh_raw.infra_ports.is_some() {
                    return Err(Error::parse(
                        "[mesh] gateways/plain_ports/infra_ports describe a generated mesh; the topology file gives them",
                        Location::new(path, 0),
                    ));
                }
                let mut topology = Topology::load(Path::new(&t))?;
                topology.set_versions(istio, knative);
                MeshSource::Topology(Box::new(topology))
            }
            None => MeshSource::Generated {
                gateways: mesh_raw.gateways.unwrap_or(2),
                plain_ports: mesh_raw.plain_ports.unwrap_or(1),
                infra_ports: mesh_raw.infra_ports.unwrap_or(20),
                filter_gateway_cluster_config: mesh_raw.filter_gateway_cluster_config.unwrap_or(false),
                versions: Versions::new(istio, knative),
            },
        };
        axes::check_scopes(&mesh, &axes.scope).map_err(|m| bad("scope", m))?;
        let sim = raw.simulate.unwrap_or(RawSim {
            horizon_days: None,
            paths: None,
            weekend_factor: None,
            high_water_mark: None,
            gc_resync: None,
        });
        let gc_resync_h = match &sim.gc_resync {
            None => crate::mesh::gc::RESYNC_H,
            Some(t) => match parse_duration_h(t) {
                Ok(Some(h)) if h <= 24.0 * 365.0 => h,
                Ok(_) => {
                    return Err(bad("gc_resync", format!("\"{t}\" must be a duration from 0 to a year, like 10h")))
                }
                Err(e) => return Err(bad("gc_resync", e.to_string())),
            },
        };
        let simulate = SimSettings {
            horizon_days: sim.horizon_days.unwrap_or(90),
            paths: sim.paths.unwrap_or(1000),
            weekend_factor: sim.weekend_factor.unwrap_or(1.0),
            high_water_mark: sim.high_water_mark.unwrap_or(true),
            gc_resync_h,
        };
        if simulate.horizon_days == 0 || simulate.paths == 0 {
            return Err(Error::parse(
                "simulate.horizon_days and simulate.paths must be at least 1",
                Location::new(path, 0),
            ));
        }
        if !(simulate.weekend_factor.is_finite() && simulate.weekend_factor >= 0.0) {
            return Err(Error::parse(
                format!(
                    "simulate.weekend_factor must be a non-negative number, but {} is not",
                    simulate.weekend_factor
                ),
                Location::new(path, 0),
            ));
        }
        let (path, model) = (path.to_path_buf(), PathBuf::from(raw.model));
        Ok(Spec { path, model, mesh, start_revisions, unrouted_share, axes, simulate })
    }
}
