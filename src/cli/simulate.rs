//! `meshcap simulate`: Monte Carlo over a scenario grid (to be written).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

/// Arguments of `meshcap simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Scenario spec (TOML).
    spec: PathBuf,
}

pub fn run_simulate(_args: SimulateArgs) -> Result<()> {
    Err(meshcap::Error::invalid("simulate is not implemented yet").into())
}
