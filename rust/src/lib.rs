//! Rust core of `cgpo`: rule-based judges and sample selection for CGPO.
//!
//! Every module except [`python`] is pure Rust and never mentions PyO3; `cargo test` builds and
//! tests them without a Python interpreter. The `python` feature (on when maturin builds the
//! `cgpo._core` extension) adds the bindings, the only glue between the two worlds.

pub mod batch;
pub mod error;
pub mod ifeval;
pub mod math;
pub mod sandbox;
pub mod selection;
pub mod verdict;

#[cfg(feature = "python")]
mod python;

pub use error::{CoreError, CoreResult};
pub use verdict::{Outcome, Verdict};
