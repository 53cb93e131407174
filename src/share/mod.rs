//! Sharing an experiment: the link that carries it (`link`) and the built-in lessons, each one
//! link (`lessons`).

pub mod lessons;
pub mod link;
