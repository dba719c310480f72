//! The config-push allowance: memory a proxy needs above its steady state while istiod pushes
//! it a whole configuration, so that a count called safe survives the next full push.
//!
//! A proxy's readings are its steady state; it is OOMKilled at its peak. Its peaks come from
//! pushes, and they scale with what is pushed (the clusters), not with the idle baseline:
//! - **State of the world** (Istio before 1.22: `ISTIO_DELTA_XDS` defaults to false at 1.21,
//!   istio/istio `pilot/pkg/features/pilot.go`, and to true from 1.22,
//!   `pilot/pkg/features/experimental.go`): every CDS push re-sends
//!   every cluster; Envoy decodes the whole response before applying it
//!   (envoyproxy/envoy `source/extensions/config_subscription/grpc/grpc_mux_impl.cc`), and an
//!   updated cluster is built and warmed beside its live copy until the new one is ready
//!   (`source/common/upstream/cluster_manager_impl.cc`, `addOrUpdateCluster`). When every
//!   cluster changes (an in-place control-plane upgrade, a mesh-wide mTLS or DestinationRule
//!   change) the whole configuration exists twice: proxies rose from 189Mi to 291Mi (+54%)
//!   during a fleet upgrade and stayed there for hours (istio/istio#23959). The allowance is
//!   that +54%, applied to the memory the configuration accounts for (the model's terms in
//!   revisions, ports, Services, endpoints), not to the idle baseline.
//! - **Delta xDS** (Istio 1.22 on, or `ISTIO_DELTA_XDS=true`): a push carries only the changed
//!   clusters, and the whole configuration arrives at once only when a proxy (re)connects,
//!   with no old copy beside it. What remains is the decoded response: ~0.3-1.1 KB of JSON per
//!   outbound cluster in real config dumps (`../shared/reference/real-world`, five dumps)
//!   against ~96 KiB a cluster live (the seed), a few percent; the allowance takes 10% of
//!   configuration memory. An in-place upgrade that changes every cluster still rebuilds them
//!   all: `--push full` covers it.
//! - After an OOMKill the new Envoy takes the whole configuration at once; if its steady memory
//!   with that push does not fit, it is killed again before it serves: a crash loop
//!   (CrashLoopBackOff), not one OOMKill a day.
//!
//! `--transient` (a factor on all memory) and `--push none` replace the allowance; the steady
//! state answer is always reported beside the one with the push.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::mesh::Version;

/// Share of configuration memory a full state-of-the-world push adds (istio/istio#23959:
/// 189Mi -> 291Mi during a fleet upgrade, every cluster rebuilt).
pub const FULL_PUSH_FRACTION: f64 = 0.54;

/// Share of configuration memory a delta-xDS (re)connect adds: the decoded whole response.
pub const DELTA_PUSH_FRACTION: f64 = 0.10;

/// The first Istio release whose proxies use delta xDS by default (`ISTIO_DELTA_XDS`).
pub const DELTA_XDS_DEFAULT_FROM: Version = Version::new(1, 22);

/// Which push the allowance covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PushKind {
    /// A full state-of-the-world push rebuilding every cluster.
    Full,
    /// A delta-xDS (re)connect: the whole configuration decoded once, no old copy.
    Delta,
    /// Steady state only (`--push none`, or `--transient` given).
    None,
}

/// Memory allowed above steady state for a config push.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PushAllowance {
    /// The push covered.
    pub kind: PushKind,
    /// Multiplier minus one on the memory the configuration accounts for.
    pub fraction: f64,
}

impl Default for PushAllowance {
    fn default() -> Self {
        PushAllowance::NONE
    }
}

impl PushAllowance {
    /// No allowance: steady state.
    pub const NONE: PushAllowance = PushAllowance { kind: PushKind::None, fraction: 0.0 };
    /// A full state-of-the-world push.
    pub const FULL: PushAllowance = PushAllowance { kind: PushKind::Full, fraction: FULL_PUSH_FRACTION };
    /// A delta-xDS (re)connect.
    pub const DELTA: PushAllowance = PushAllowance { kind: PushKind::Delta, fraction: DELTA_PUSH_FRACTION };

    /// The allowance for a protocol: delta xDS or state of the world.
    pub fn for_protocol(delta_xds: bool) -> PushAllowance {
        if delta_xds {
            PushAllowance::DELTA
        } else {
            PushAllowance::FULL
        }
    }

    /// Whether an Istio release pushes with delta xDS by default.
    pub fn delta_by_default(istio: Version) -> bool {
        istio >= DELTA_XDS_DEFAULT_FROM
    }

    /// Parse `--push`: `auto` (None: decided by the Istio release), `full`, `delta`, `none`.
    pub fn parse(text: &str) -> Result<Option<PushAllowance>> {
        match text.trim() {
            "auto" => Ok(None),
            "full" => Ok(Some(PushAllowance::FULL)),
            "delta" => Ok(Some(PushAllowance::DELTA)),
            "none" => Ok(Some(PushAllowance::NONE)),
            t => Err(Error::invalid(format!("--push must be auto, full, delta or none, but \"{t}\" is none of them"))),
        }
    }

    /// Factor on configuration memory at the peak.
    pub fn factor(&self) -> f64 {
        1.0 + self.fraction
    }

    /// One line saying what the answer covers, for every answer that uses it.
    pub fn describe(&self) -> String {
        match self.kind {
            PushKind::Full => format!(
                "safe including a full config push: configuration memory x{:.2} (state-of-the-world xDS rebuilds every cluster beside the live ones; +54% in istio#23959)",
                self.factor()
            ),
            PushKind::Delta => format!(
                "safe including a config push: configuration memory x{:.2} (delta xDS: a (re)connect decodes the whole configuration once; an in-place upgrade rebuilding every cluster needs --push full)",
                self.factor()
            ),
            PushKind::None => "steady state only: no config-push allowance".to_string(),
        }
    }
}

/// How a push allowance was chosen, for the line every answer prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PushChoice {
    /// The allowance.
    pub allowance: PushAllowance,
    /// The Istio release it was decided by, when `auto` decided.
    pub istio_version: Option<String>,
    /// Why: the release and protocol, or the flag that set it.
    pub reason: String,
}

impl PushChoice {
    /// Decide the allowance: a flag wins (`--transient` means none), else the protocol
    /// (`delta_xds` when the topology or istiod says it), else the Istio release's default.
    pub fn decide(
        flag: Option<PushAllowance>,
        transient_given: bool,
        istio: Version,
        istio_assumed: bool,
        delta_xds: Option<bool>,
    ) -> PushChoice {
        if transient_given {
            return PushChoice {
                allowance: PushAllowance::NONE,
                istio_version: None,
                reason: "--transient replaces the push allowance".into(),
            };
        }
        if let Some(a) = flag {
            return PushChoice { allowance: a, istio_version: None, reason: "--push".into() };
        }
        let (delta, how) = match delta_xds {
            Some(d) => (d, format!("ISTIO_DELTA_XDS={d}")),
            None => {
                let d = PushAllowance::delta_by_default(istio);
                (d, format!("{} by default at Istio {istio}", if d { "delta xDS" } else { "state-of-the-world xDS" }))
            }
        };
        let assumed = if istio_assumed { " (Istio release assumed: the model records none)" } else { "" };
        PushChoice {
            allowance: PushAllowance::for_protocol(delta),
            istio_version: Some(istio.to_string()),
            reason: format!("{how}{assumed}"),
        }
    }

    /// The line printed with every answer.
    pub fn line(&self) -> String {
        format!("{} [{}]", self.allowance.describe(), self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_xds_is_the_default_from_istio_1_22() {
        // istio/istio pilot/pkg/features: ISTIO_DELTA_XDS defaults to false at 1.21.0 (pilot.go)
        // and to true at 1.22.0 (experimental.go).
        assert!(!PushAllowance::delta_by_default(Version::new(1, 21)));
        assert!(PushAllowance::delta_by_default(Version::new(1, 22)));
        let at = |v: Version| PushChoice::decide(None, false, v, false, None).allowance;
        assert_eq!(at(Version::new(1, 18)), PushAllowance::FULL);
        assert_eq!(at(Version::new(1, 24)), PushAllowance::DELTA);
        // The flag istiod runs with wins over the release's default.
        assert_eq!(
            PushChoice::decide(None, false, Version::new(1, 24), false, Some(false)).allowance.kind,
            PushKind::Full
        );
        // --transient and --push replace it.
        assert_eq!(PushChoice::decide(None, true, Version::new(1, 18), false, None).allowance.kind, PushKind::None);
        let none = PushAllowance::parse("none").unwrap();
        assert_eq!(PushChoice::decide(none, false, Version::new(1, 18), false, None).allowance.kind, PushKind::None);
        assert!(PushAllowance::parse("sometimes").is_err());
        assert!(PushChoice::decide(None, false, Version::new(1, 18), false, None).line().contains("full config push"));
    }
}
