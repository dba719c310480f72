//! The revision path: predictor values as a function of the number of Knative revisions.

use crate::mesh::Visible;
use crate::model::FittedModel;
use crate::series::{CONCURRENCY, ENDPOINTS, PORTS, REVISIONS, SERVICES};

/// How every predictor column moves as revisions are added: `value = at_zero + per_revision * r`.
///
/// By default a revision adds one to `revisions`, `ports_per_revision` to `ports` and two to
/// `services`; any other column is held at its fitted mean. Plain Services add fixed ports
/// (`at_zero`). With a revisions-only model, fixed ports count as revision equivalents
/// (ports / ports-per-revision), since per-port memory is then derived from per-revision memory.
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionPath {
    columns: Vec<(String, f64, f64)>,
    ports_per_revision: f64,
    fixed_ports: f64,
    /// Ports held by a what-if (`--set ports=N`): reported as they are.
    held_ports: Option<f64>,
}

impl RevisionPath {
    /// The default path for a model, with no fixed ports.
    pub fn new(model: &FittedModel) -> Self {
        let mut columns = Vec::new();
        // Product terms (`ports:kind=gateway`) are evaluated from their parts: a column per
        // part, each kind indicator 0 (the baseline kind) until a class is chosen.
        let parts = model.terms.iter().flat_map(|t| t.column.split(':'));
        for part in parts {
            if columns.iter().any(|(c, _, _): &(String, f64, f64)| c == part) {
                continue;
            }
            if part.starts_with("kind=") {
                columns.push((part.to_string(), 0.0, 0.0));
                continue;
            }
            let slope = match part {
                REVISIONS => 1.0,
                PORTS => model.ports_per_revision,
                SERVICES => model.services_per_revision,
                _ => 0.0,
            };
            let at_zero = if slope == 0.0 { model.range(part).map_or(0.0, |r| r.mean) } else { 0.0 };
            columns.push((part.to_string(), at_zero, slope));
        }
        RevisionPath { columns, ports_per_revision: model.ports_per_revision, fixed_ports: 0.0, held_ports: None }
    }

    /// The path of one proxy of a topology: `r` counts the revisions it sees that grow with
    /// retained revisions ([`crate::mesh::Counts::growing_revisions`]); each adds that proxy's
    /// own clusters, endpoints and Services per revision (7 or 8 ports, by Knative release),
    /// and everything else it sees is fixed. A `concurrency` column is held at the proxy's
    /// workers; without one, its clusters are weighed by [`super::workers::worker_factor`], and
    /// by [`super::workers::stats_increment`] when it keeps per-cluster stats the model's data
    /// did not.
    pub fn for_visible(model: &FittedModel, v: &Visible) -> Self {
        let c = &v.counts;
        let g = c.growing_revisions;
        let per = |grow: f64, default: f64| if g > 0.0 { grow / g } else { default };
        let cpr = per(c.growing_clusters, model.ports_per_revision);
        let epr = per(c.growing_endpoints, 0.0);
        let spr = per(c.growing_services, model.services_per_revision);
        let fixed_clusters = c.clusters - c.growing_clusters;
        let has = |col: &str| model.terms.iter().any(|t| t.column == col);
        let k = if has(CONCURRENCY) { 1.0 } else { super::workers::worker_factor(model, v.concurrency) }
            + super::workers::stats_increment(model, v.per_cluster_stats);
        let mut path = RevisionPath::new(model);
        for col in &mut path.columns {
            let (at_zero, slope) = match col.0.as_str() {
                REVISIONS if has(PORTS) => (c.revisions - g, 1.0),
                // A revisions-only model: every cluster counts as a revision equivalent.
                REVISIONS => (k * fixed_clusters / model.ports_per_revision, k * cpr / model.ports_per_revision),
                PORTS => (k * fixed_clusters, k * cpr),
                SERVICES => (c.services - c.growing_services, spr),
                ENDPOINTS => (c.endpoints - c.growing_endpoints, epr),
                CONCURRENCY => (v.concurrency, 0.0),
                _ => continue,
            };
            col.1 = at_zero;
            col.2 = slope;
        }
        path.ports_per_revision = cpr;
        path.fixed_ports = fixed_clusters;
        path
    }

    /// The path with `added_bytes_per_cluster` more memory per Envoy cluster than the model's
    /// data held (more workers, per-cluster stats: [`crate::model::conditions::Conditions::compare`]):
    /// the cluster columns (`ports`, or `revisions` in a revisions-only model) are weighed by
    /// `1 + added / per-cluster bytes`, as [`Self::for_visible`] weighs workers. Unchanged when
    /// the model gives no positive per-cluster memory.
    pub fn with_cluster_cost(mut self, model: &FittedModel, added_bytes_per_cluster: f64) -> Self {
        let Some(per_cluster) = super::workers::per_cluster_bytes(model) else { return self };
        if !added_bytes_per_cluster.is_finite() {
            return self;
        }
        let k = (1.0 + added_bytes_per_cluster / per_cluster).max(0.0);
        let has_ports = model.terms.iter().any(|t| t.column == PORTS);
        for col in &mut self.columns {
            if col.0 == PORTS || (col.0 == REVISIONS && !has_ports) {
                col.1 *= k;
                col.2 *= k;
            }
        }
        self
    }

    /// The path of a proxy of `class` (its kind and workers) under a model with terms on them:
    /// its kind's indicator 1, the others 0, `concurrency` held at its workers.
    pub fn with_class(mut self, class: &crate::model::ProxyClass) -> Self {
        for col in &mut self.columns {
            let v = class.value(&col.0, |_| f64::NAN);
            if !v.is_nan() {
                col.1 = v;
                col.2 = 0.0;
            }
        }
        self
    }

    /// Hold a column at a value (what-if `--set col=v`); it no longer moves with revisions.
    pub fn hold(&mut self, column: &str, value: f64) {
        if let Some(c) = self.columns.iter_mut().find(|c| c.0 == column) {
            c.1 = value;
            c.2 = 0.0;
        }
        if column == PORTS {
            self.held_ports = Some(value);
        }
    }

    /// Value of a column at `r` revisions.
    pub fn value(&self, column: &str, r: f64) -> f64 {
        self.columns.iter().find(|c| c.0 == column).map_or(0.0, |&(_, at_zero, slope)| at_zero + slope * r)
    }

    /// Endpoint ports seen at `r` revisions (the held value when `ports` is held).
    pub fn ports(&self, r: f64) -> f64 {
        self.held_ports.unwrap_or(self.fixed_ports + self.ports_per_revision * r)
    }
}
