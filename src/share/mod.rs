//! Sharing an experiment: the link that carries it (`link`), the built-in lessons, each one
//! link (`lessons`), and its trials as the tools of the field read them — a CSV in
//! scikit-learn's `cv_results_` columns (`cv_results`) and Optuna's journal (`optuna_journal`).

pub mod cv_results;
pub mod lessons;
pub mod link;
pub mod optuna_journal;
