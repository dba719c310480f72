//! The revision path: predictor values as a function of the number of Knative revisions.

use crate::model::FittedModel;
use crate::series::{PORTS, REVISIONS, SERVICES};

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
    /// Revision equivalents added for a revisions-only model (fixed ports / ppr).
    revision_offset: f64,
    fixed_ports: f64,
    /// Ports held by a what-if (`--set ports=N`): reported as they are.
    held_ports: Option<f64>,
}

impl RevisionPath {
    /// The default path for a model, with no fixed ports.
    pub fn new(model: &FittedModel) -> Self {
        let mut columns = Vec::new();
        for t in &model.terms {
            if columns.iter().any(|(c, _, _): &(String, f64, f64)| *c == t.column) {
                continue;
            }
            let slope = match t.column.as_str() {
                REVISIONS => 1.0,
                PORTS => model.ports_per_revision,
                SERVICES => model.services_per_revision,
                _ => 0.0,
            };
            let at_zero = if slope == 0.0 { model.range(&t.column).map_or(0.0, |r| r.mean) } else { 0.0 };
            columns.push((t.column.clone(), at_zero, slope));
        }
        RevisionPath {
            columns,
            ports_per_revision: model.ports_per_revision,
            revision_offset: 0.0,
            fixed_ports: 0.0,
            held_ports: None,
        }
    }

    /// The path for a proxy that also sees `ports` ports and `services` Services of plain
    /// (non-Knative) Kubernetes Services.
    pub fn with_fixed(model: &FittedModel, ports: f64, services: f64) -> Self {
        let mut path = RevisionPath::new(model);
        let has = |c: &str| model.terms.iter().any(|t| t.column == c);
        if has(PORTS) {
            path.set_at_zero(PORTS, ports);
            if has(SERVICES) {
                path.set_at_zero(SERVICES, services);
            }
        } else if has(REVISIONS) {
            path.revision_offset = ports / model.ports_per_revision;
        }
        path.fixed_ports = ports;
        path
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

    fn set_at_zero(&mut self, column: &str, value: f64) {
        if let Some(c) = self.columns.iter_mut().find(|c| c.0 == column) {
            c.1 = value;
        }
    }

    /// Value of a column at `r` revisions.
    pub fn value(&self, column: &str, r: f64) -> f64 {
        self.columns.iter().find(|c| c.0 == column).map_or(0.0, |&(ref name, at_zero, slope)| {
            let r = if name == REVISIONS { r + self.revision_offset } else { r };
            at_zero + slope * r
        })
    }

    /// Endpoint ports seen at `r` revisions (the held value when `ports` is held).
    pub fn ports(&self, r: f64) -> f64 {
        self.held_ports.unwrap_or(self.fixed_ports + self.ports_per_revision * r)
    }
}
