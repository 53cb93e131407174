//! The tuning engine: search spaces (and, as issue 4 goes on, studies, strategies and
//! cross-validation). Pure core: tested natively, shared by the browser and the command line.

pub mod presets;
pub mod space;
