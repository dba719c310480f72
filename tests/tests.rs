//! meshcap's one integration-test binary: a module per area.

mod bad_input;
mod coverage;
mod deploy;
mod errors;
mod errors_downstream;
mod errors_hostile;
mod fit;
mod hostile;
mod import;
mod import_fuzz;
mod import_regressions;
mod inputs;
mod nist;
mod no_debris;
mod plot;
mod plot_edge;
mod plot_truth;
mod project;
mod prometheus_files;
mod prometheus_live;
mod readers_fuzz;
mod report;
mod simulate;
mod sweep;
mod sweep_oracle;
mod util;
