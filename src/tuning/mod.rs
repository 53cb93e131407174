//! The tuning engine: search spaces, studies on equal budgets, and the methods behind one
//! `Strategy` interface (issue 4 adds them one by one). Pure core: tested natively, shared by
//! the browser and the command line.

pub mod ask_tell;
pub mod cmaes;
pub mod cv;
pub mod final_eval;
pub mod genetic;
pub mod gp;
pub mod grid;
pub mod presets;
pub mod random;
pub mod runner;
pub mod space;
pub mod stats;
pub mod strategy;
pub mod study;
pub mod tpe;

#[cfg(test)]
mod contract;
#[cfg(test)]
mod quality;
