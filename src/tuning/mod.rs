//! The tuning engine: search spaces, studies on equal budgets, and the methods behind one
//! `Strategy` interface. Generic: it tunes any objective that scores a point of a space (the
//! CNN's is `crate::experiment`, which uses this module; nothing here knows of the CNN). Pure
//! core: tested natively, shared by the browser and the command line.

#![forbid(unsafe_code)]

pub mod ask_tell;
pub mod cmaes;
pub mod fixed;
pub mod genetic;
pub mod gp;
pub mod grid;
pub mod hyperband;
pub mod hyperband_schedule;
pub mod hypergradient;
pub mod median_pruner;
pub mod methods;
pub mod pbt;
pub mod random;
pub mod snapshot;
pub mod space;
pub mod stats;
pub mod strategy;
pub mod study;
pub mod supervisor;
pub mod tpe;
pub mod trial;

#[cfg(test)]
mod contract;
#[cfg(test)]
mod quality;
