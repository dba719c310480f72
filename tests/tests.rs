//! meshcap's one integration-test binary: a module per area.

mod bad_input;
mod fit;
mod nist;
mod project;
mod sweep;
mod util;
