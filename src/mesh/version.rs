//! Istio and Knative versions: the rules that change between releases.
//!
//! What a proxy holds depends on the control plane's release, not only on the objects in the
//! mesh. Each rule below names the release it changed in and where that is written down; a
//! topology without versions is evaluated at the versions of the measurement behind the seed
//! model (Knative 1.11.0, Istio 1.18.2), and every command that uses one says so.

use std::fmt;

use crate::error::{Error, Result};

/// A `major.minor[.patch]` release, as written in an image tag (`1.18.2`, `v1.21.0`,
/// `knative-v1.11.0`, `1.22-dev`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major release.
    pub major: u32,
    /// Minor release.
    pub minor: u32,
    /// Patch release (0 when not given).
    pub patch: u32,
}

/// Istio assumed when the topology names none: the measurement's (Istio 1.18.2).
pub const ASSUMED_ISTIO: Version = Version { major: 1, minor: 18, patch: 2 };
/// Knative Serving assumed when the topology names none: the measurement's (1.11.0).
pub const ASSUMED_KNATIVE: Version = Version { major: 1, minor: 11, patch: 0 };

impl Version {
    /// A release from its number.
    pub const fn new(major: u32, minor: u32) -> Version {
        Version { major, minor, patch: 0 }
    }

    /// Parse `1.18.2`, `v1.21`, `knative-v1.11.0`, `1.22.0-beta.1` or an image tag ending in one.
    pub fn parse(text: &str) -> Result<Version> {
        let bad = || {
            Error::invalid(format!(
                "version \"{text}\" must look like 1.18.2 (major.minor[.patch], optionally prefixed v or knative-v)"
            ))
        };
        let t = text.trim();
        let t = t.rsplit(':').next().unwrap_or(t);
        let t = t.strip_prefix("knative-").unwrap_or(t);
        let t = t.strip_prefix('v').unwrap_or(t);
        let core = t.split(['-', '+', '@']).next().unwrap_or("");
        let mut parts = core.split('.');
        let num = |p: Option<&str>| -> Option<u32> {
            let p = p?;
            if p.is_empty() || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let major = num(parts.next()).ok_or_else(bad)?;
        let minor = num(parts.next()).ok_or_else(bad)?;
        let patch = match parts.next() {
            None => 0,
            p => num(p).ok_or_else(bad)?,
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(Version { major, minor, patch })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The versions a topology is evaluated at, and whether each was given or assumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    /// Istio (istiod) release.
    pub istio: Version,
    /// Knative Serving release.
    pub knative: Version,
    /// The Istio release was assumed.
    pub istio_assumed: bool,
    /// The Knative release was assumed.
    pub knative_assumed: bool,
    /// istiod's `ENABLE_EXTERNAL_NAME_ALIAS`, when the topology says (honoured only by the
    /// releases that have the flag, 1.20 to 1.23).
    pub external_name_alias: Option<bool>,
}

impl Versions {
    /// From optional versions, assuming the measurement's for missing ones.
    pub fn new(istio: Option<Version>, knative: Option<Version>) -> Versions {
        Versions {
            istio: istio.unwrap_or(ASSUMED_ISTIO),
            knative: knative.unwrap_or(ASSUMED_KNATIVE),
            istio_assumed: istio.is_none(),
            knative_assumed: knative.is_none(),
            external_name_alias: None,
        }
    }

    /// One line saying which versions are used and which are assumed.
    pub fn describe(&self) -> String {
        let one = |name: &str, v: Version, assumed: bool| {
            if assumed {
                format!("{name} {v} (assumed: the topology names none; set {}_version)", name.to_lowercase())
            } else {
                format!("{name} {v}")
            }
        };
        format!(
            "{}, {}",
            one("Istio", self.istio, self.istio_assumed),
            one("Knative", self.knative, self.knative_assumed)
        )
    }

    /// ExternalName Services are aliases without Envoy clusters when istiod's
    /// `ENABLE_EXTERNAL_NAME_ALIAS` is on. The flag appears in 1.20.0 (default false), defaults to
    /// true from 1.21.0 and is gone in 1.24.0, where aliasing is unconditional (istio/istio
    /// `pilot/pkg/features/pilot.go` at 1.19.0 (absent), 1.20.0, 1.21.0, 1.23.0 and 1.24.0
    /// (absent)). So the topology's `external_name_alias` counts from 1.20 to 1.23 only; before
    /// 1.20 each port of an ExternalName Service is a STRICT_DNS cluster whatever istiod's env
    /// says (an unknown variable is ignored).
    pub fn external_name_is_alias(&self) -> bool {
        if self.istio < Version::new(1, 20) {
            false
        } else if self.istio >= Version::new(1, 24) {
            true
        } else {
            self.external_name_alias.unwrap_or(self.istio >= Version::new(1, 21))
        }
    }

    /// The API version a Sidecar resource must be written in, None where Istio has no Sidecar
    /// CRD. istio/api `networking/v1alpha3/sidecar.proto` first appears at tag 1.1.0 (absent at
    /// 1.0.0); `networking/v1beta1/sidecar.proto` at 1.5.0 (absent at 1.4.0), whose
    /// `kubernetes/customresourcedefinitions.gen.yaml` serves `v1alpha3` and `v1beta1`; `v1`
    /// is served from 1.22.0 (Istio 1.18 rejects `v1`).
    pub fn sidecar_api_version(&self) -> Option<&'static str> {
        if self.istio >= Version::new(1, 22) {
            Some("networking.istio.io/v1")
        } else if self.istio >= Version::new(1, 5) {
            Some("networking.istio.io/v1beta1")
        } else if self.istio >= Version::new(1, 1) {
            Some("networking.istio.io/v1alpha3")
        } else {
            None
        }
    }

    /// Ports of a revision's private Service: 80, 443, 9090, 9091, 8022, 8012 before Knative
    /// 1.21; 8022 (`http-queueadm`) was removed in knative-v1.21.0 (knative/serving PR #16164,
    /// `pkg/reconciler/serverlessservice/resources/services.go`).
    pub fn private_ports(&self) -> u32 {
        if self.knative >= Version::new(1, 21) {
            5
        } else {
            6
        }
    }

    /// Ports of a revision's public Service: 80 (`http`, 81 for h2c) and 443 (`https`).
    pub fn public_ports(&self) -> u32 {
        2
    }

    /// Endpoint ports (Envoy outbound clusters) per revision: private plus public.
    pub fn ports_per_revision(&self) -> u32 {
        self.private_ports() + self.public_ports()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_as_images_write_them() {
        assert_eq!(Version::parse("1.18.2").unwrap(), Version { major: 1, minor: 18, patch: 2 });
        assert_eq!(Version::parse("docker.io/istio/pilot:1.22.0").unwrap(), Version::new(1, 22));
        assert_eq!(Version::parse("v1.21").unwrap(), Version::new(1, 21));
        assert_eq!(Version::parse("knative-v1.11.0").unwrap(), Version::new(1, 11));
        assert_eq!(Version::parse("1.24.0-beta.1").unwrap(), Version::new(1, 24));
        for bad in ["", "1", "one.two", "1.2.3.4", "1..2", "latest"] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rules_change_at_the_documented_releases() {
        let at =
            |i: (u32, u32), k: (u32, u32)| Versions::new(Some(Version::new(i.0, i.1)), Some(Version::new(k.0, k.1)));
        assert!(!at((1, 20), (1, 11)).external_name_is_alias());
        assert!(at((1, 21), (1, 11)).external_name_is_alias());
        // istiod's ENABLE_EXTERNAL_NAME_ALIAS, where the release has it (1.20-1.23).
        let flag = |i: (u32, u32), f: bool| Versions { external_name_alias: Some(f), ..at(i, (1, 11)) };
        assert!(flag((1, 20), true).external_name_is_alias());
        assert!(!flag((1, 22), false).external_name_is_alias());
        assert!(!flag((1, 19), true).external_name_is_alias(), "no such flag before 1.20");
        assert!(flag((1, 24), false).external_name_is_alias(), "flag removed in 1.24: always aliases");
        assert_eq!(at((1, 18), (1, 11)).sidecar_api_version(), Some("networking.istio.io/v1beta1"));
        assert_eq!(at((1, 21), (1, 11)).sidecar_api_version(), Some("networking.istio.io/v1beta1"));
        assert_eq!(at((1, 22), (1, 11)).sidecar_api_version(), Some("networking.istio.io/v1"));
        // istio/api: the Sidecar CRD is v1alpha3 only from 1.1.0 through 1.4.0 (sidecar.proto
        // under networking/v1alpha3 alone), v1beta1 from 1.5.0, and absent at 1.0.0.
        assert_eq!(at((1, 5), (1, 11)).sidecar_api_version(), Some("networking.istio.io/v1beta1"));
        assert_eq!(at((1, 4), (1, 11)).sidecar_api_version(), Some("networking.istio.io/v1alpha3"));
        assert_eq!(at((1, 1), (1, 11)).sidecar_api_version(), Some("networking.istio.io/v1alpha3"));
        assert_eq!(at((1, 0), (1, 11)).sidecar_api_version(), None);
        assert_eq!(at((1, 22), (1, 20)).ports_per_revision(), 8);
        assert_eq!(at((1, 22), (1, 21)).ports_per_revision(), 7);
        let assumed = Versions::new(None, None);
        assert!(assumed.istio_assumed && assumed.knative_assumed);
        assert!(assumed.describe().contains("Istio 1.18.2 (assumed"));
    }
}
