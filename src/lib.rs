//! tunelab's pure core: data, the CNN engine, the tuning engine, the CNN experiment (the
//! objective the tuning engine searches), the worker protocol, chart data, sharing an experiment
//! by a link (`share`), and the interface's words in English and Spanish (`text`).
//!
//! Nothing in this crate's library imports leptos, web-sys, js-sys or gloo: it builds and is
//! tested natively with `cargo test`, and the browser shell (`src/main.rs`, `src/app/`,
//! `src/bin/worker.rs`) only moves data between this core and the screen.
//! `tests/core_boundary.rs` keeps that true.

pub mod chart;
pub mod data;
pub mod experiment;
pub mod nn;
pub mod protocol;
pub mod rng;
pub mod scheduler;
pub mod share;
pub mod text;
pub mod tuning;
