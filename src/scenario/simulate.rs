//! Monte Carlo time simulation (to be written).
