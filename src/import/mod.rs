//! Importers: turn what users already have into meshcap's canonical inputs.
//!
//! Nobody types sidecar memory by hand: it sits in Prometheus, in Grafana panels, in `kubectl`
//! and `istioctl` output. Each importer here reads one of those shapes and produces either a
//! canonical measurement [`Series`](crate::series::Series) (written with
//! [`series::write`](crate::series::write)) or a [`Topology`](crate::mesh::Topology), so fit,
//! safe, sweep and report take the result as is.
//!
//! - [`prometheus`]: `/api/v1/query_range` responses, live ([`http`]) or saved, parsed by
//!   [`promjson`], one series picked per query by [`select`], aligned on the memory timestamps
//!   by [`align`]; with `--by`, one proxy per label value in long form ([`fleet`]), each
//!   proxy's container incarnations spliced ([`splice`]).
//! - [`grafana`]: CSV downloaded from a panel's Inspect > Data, with formatted values, or its
//!   data frame JSON; with `--by`, a panel of one series per pod in the same long form.
//! - [`kubectl`]: a `kubectl get ... -o json` List of Services, Knative Services and
//!   Revisions, to a topology file.
//! - [`istioctl`]: `istioctl proxy-config cluster -o json` or an Envoy `/config_dump`, to
//!   outbound cluster counts by namespace and service; several dumps with their readings
//!   (time, memory), to the same long form.
//!
//! - [`pods`]: `kubectl get pods -o json`, to the proxies' last termination records, which
//!   `clean` reads to tell recorded OOMKills from guessed ones.
//!
//! Cleaning (restarts, OOMs, double counting) works on any canonical series and lives in
//! [`series::clean`](crate::series::clean).

pub mod align;
pub mod answer;
pub mod fleet;
pub mod grafana;
pub mod http;
pub mod istioctl;
pub mod kinds;
pub mod kubectl;
pub mod pods;
mod prom_parts;
mod prom_samples;
pub mod prometheus;
pub mod promjson;
pub mod select;
pub mod splice;
pub mod terminated;
mod time_flags;
pub mod traffic;
pub mod workers;

use std::collections::BTreeMap;

/// One time series: a label set and its samples, in time order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeSeries {
    /// Label names to values (`__name__` included when the response has it).
    pub labels: BTreeMap<String, String>,
    /// Sample times, unix seconds.
    pub times: Vec<f64>,
    /// Sample values, finite.
    pub values: Vec<f64>,
}

impl TimeSeries {
    /// The label set as Prometheus prints it: `{namespace="shop", pod="cart-0"}`.
    pub fn label_set(&self) -> String {
        let inner: Vec<String> = self.labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        format!("{{{}}}", inner.join(", "))
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }
}

/// The byte offset of a serde_json error (from its 1-based line and column), for messages
/// that must point into files of one very long line.
pub(crate) fn json_error_offset(text: &[u8], err: &serde_json::Error) -> usize {
    if err.is_eof() {
        return text.len();
    }
    let (line, column) = (err.line(), err.column());
    if line == 0 {
        return 0;
    }
    let mut start = 0;
    if line > 1 {
        let mut seen = 1;
        for (i, &b) in text.iter().enumerate() {
            if b == b'\n' {
                seen += 1;
                if seen == line {
                    start = i + 1;
                    break;
                }
            }
        }
    }
    (start + column.saturating_sub(1)).min(text.len())
}

/// A serde_json error as one line naming the byte offset: `malformed JSON at byte 1234: ...`.
pub(crate) fn json_error_message(text: &[u8], err: &serde_json::Error) -> String {
    let offset = json_error_offset(text, err);
    // serde_json appends " at line L column C"; the offset replaces it.
    let full = err.to_string();
    let reason = full.rsplit_once(" at line ").map_or(full.as_str(), |(r, _)| r);
    format!("malformed JSON at byte {offset} (line {}, column {}): {reason}", err.line(), err.column())
}
