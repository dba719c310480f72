//! `--istio-version` / `--knative-version`: the releases a topology is counted at, overriding
//! what the topology (or `import kubectl`) says.

use clap::Args;
use meshcap::mesh::{Topology, Version};

/// Release overrides shared by `scope`, `sweep`, `simulate`, `report` and `import kubectl`.
#[derive(Debug, Clone, Args)]
pub struct VersionArgs {
    /// Istio release to count at (e.g. 1.22.0), overriding the topology's istio_version.
    #[arg(long = "istio-version", value_parser = parse_version)]
    pub istio: Option<Version>,
    /// Knative Serving release to count at (e.g. 1.21.0), overriding the topology's
    /// knative_version.
    #[arg(long = "knative-version", value_parser = parse_version)]
    pub knative: Option<Version>,
}

impl VersionArgs {
    /// Apply the overrides to a topology.
    pub fn apply(&self, topology: &mut Topology) {
        topology.set_versions(self.istio, self.knative);
    }
}

fn parse_version(s: &str) -> Result<Version, String> {
    Version::parse(s).map_err(|e| e.to_string())
}
