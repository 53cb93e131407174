//! The registry of tuning methods: for each one, the name the command line and links use, a
//! label and a one-sentence summary for the page, its family, and how to make it with its
//! defaults. Every list of methods — the command line's `--method` and its help, `tunelab
//! ask-tell`, the contract and quality suites, the page — reads this one, so a method added here
//! is offered and checked everywhere by itself.

use super::cmaes::CmaEs;
use super::genetic::Genetic;
use super::gp::GpEi;
use super::grid::GridSearch;
use super::random::RandomSearch;
use super::strategy::Strategy;
use super::tpe::Tpe;

/// The kind of search a method does, as the seed document groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Every combination of listed values.
    Grid,
    /// Independent draws, ignoring results.
    Random,
    /// A model of the score fitted to the results, and the next point where it promises most.
    Bayesian,
    /// A population that moves toward the best results.
    Evolutionary,
}

/// One tuning method.
#[derive(Debug)]
pub struct Method {
    /// As `--method` and links spell it (and as the strategy's `name()` gives it).
    pub name: &'static str,
    /// As the page shows it.
    pub label: &'static str,
    /// One sentence for the page.
    pub summary: &'static str,
    pub family: Family,
    make: fn() -> Box<dyn Strategy>,
}

impl Method {
    /// A fresh instance with the method's defaults.
    pub fn make(&self) -> Box<dyn Strategy> {
        (self.make)()
    }
}

const METHODS: [Method; 6] = [
    Method {
        name: "grid",
        label: "Grid search",
        summary: "Tries every combination of a few values per hyperparameter, in a fixed order, and learns nothing from the results.",
        family: Family::Grid,
        make: || Box::new(GridSearch::default()),
    },
    Method {
        name: "random",
        label: "Random search",
        summary: "Draws every hyperparameter at random on its own scale, so that the few that matter are each tried at many values.",
        family: Family::Random,
        make: || Box::new(RandomSearch),
    },
    Method {
        name: "tpe",
        label: "TPE (Bayesian)",
        summary: "Splits the trials into good and bad, models where each kind lies, and tries next where good trials are much likelier than bad.",
        family: Family::Bayesian,
        make: || Box::new(Tpe::default()),
    },
    Method {
        name: "gp-ei",
        label: "Gaussian process + EI (Bayesian)",
        summary: "Fits a Gaussian process to the scores and tries next where the expected improvement over the best score is highest.",
        family: Family::Bayesian,
        make: || Box::new(GpEi::default()),
    },
    Method {
        name: "cma-es",
        label: "CMA-ES (evolutionary)",
        summary: "Samples each generation from a normal distribution whose mean, shape and size follow the best points of the last.",
        family: Family::Evolutionary,
        make: || Box::new(CmaEs::new()),
    },
    Method {
        name: "genetic",
        label: "Genetic algorithm (evolutionary)",
        summary: "Breeds each generation from the best configurations of the last by crossover and mutation, keeping the best two.",
        family: Family::Evolutionary,
        make: || Box::new(Genetic::default()),
    },
];

/// Every method, in the order the page and the help list them.
pub fn all() -> &'static [Method] {
    &METHODS
}

/// A method by its name; the error lists the known names.
pub fn by_name(name: &str) -> Result<&'static Method, String> {
    METHODS.iter().find(|m| m.name == name).ok_or_else(|| format!("unknown method {name:?}; the methods are {}", names().collect::<Vec<_>>().join(", ")))
}

/// The methods' names, in order.
pub fn names() -> impl Iterator<Item = &'static str> {
    METHODS.iter().map(|m| m.name)
}

/// The names as a sentence lists them: "grid, random, … or genetic".
pub fn names_listed() -> String {
    let names: Vec<&str> = names().collect();
    match names.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_is_found_by_its_name_and_makes_the_strategy_of_that_name() {
        for method in all() {
            assert_eq!(by_name(method.name).unwrap().label, method.label);
            assert_eq!(method.make().name(), method.name, "the registry's name is the strategy's");
            assert!(method.summary.ends_with('.') && !method.label.is_empty());
        }
        assert_eq!(names_listed(), "grid, random, tpe, gp-ei, cma-es or genetic");
        assert_eq!(by_name("annealing").unwrap_err(), "unknown method \"annealing\"; the methods are grid, random, tpe, gp-ei, cma-es, genetic");
    }
}
