//! The registry of tuning methods: for each one, the name the command line and links use, a
//! label and a one-sentence summary for the page, its family, and how to make it with its
//! defaults. Every list of methods — the command line's `--method` and its help, `tunelab
//! ask-tell`, the contract and quality suites, the page — reads this one, so a method added here
//! is offered and checked everywhere by itself.

use super::cmaes::CmaEs;
use super::genetic::Genetic;
use super::gp::GpEi;
use super::grid::GridSearch;
use super::hyperband::{Hyperband, DEFAULT_ETA};
use super::hypergradient::HypergradientStarts;
use super::pbt::Pbt;
use super::random::RandomSearch;
use super::space::SearchSpace;
use super::strategy::Strategy;
use super::study::{CostFn, Study, StudyConfig};
use super::supervisor::{Resource, Supervisor};
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
    /// Hyperparameters moved by their gradient while the network trains.
    Gradient,
    /// Many configurations started, the poor ones stopped early to pay for the good.
    EarlyStopping,
    /// A population training together, the poor copying the good as it goes.
    Population,
}

/// How a method is made: one that proposes points, or one that acts inside training.
#[derive(Debug, Clone, Copy)]
enum Make {
    Proposes(fn() -> Box<dyn Strategy>),
    Supervises(fn() -> Box<dyn Supervisor>),
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
    /// Its trials tune their learning rate and L2 by hypergradients as they train.
    pub hypergradients: bool,
    make: Make,
}

impl Method {
    /// A fresh instance with the method's defaults, for a method that proposes points (None
    /// for one that acts inside training).
    pub fn strategy(&self) -> Option<Box<dyn Strategy>> {
        match self.make {
            Make::Proposes(make) => Some(make()),
            Make::Supervises(_) => None,
        }
    }

    /// Whether it trains its trials in segments, pausing them (Hyperband, PBT): it needs
    /// checkpoints and epochs as a resource.
    pub fn acts_inside_training(&self) -> bool {
        matches!(self.make, Make::Supervises(_))
    }

    /// Its name as the strategy or supervisor it makes gives it.
    pub fn made_name(&self) -> &'static str {
        match self.make {
            Make::Proposes(make) => make().name(),
            Make::Supervises(make) => make().name(),
        }
    }

    /// A study of this method with its defaults: `cost` prices a proposed point, `resource`
    /// a supervised method's epochs.
    pub fn study(&self, space: SearchSpace, config: StudyConfig, cost: CostFn, resource: Resource) -> Study {
        match self.make {
            Make::Proposes(make) => Study::new(space, make(), config, cost),
            Make::Supervises(make) => Study::supervised(space, make(), config, resource),
        }
    }
}

const METHODS: [Method; 10] = [
    Method {
        name: "grid",
        label: "Grid search",
        summary: "Tries every combination of a few values per hyperparameter, in a fixed order, and learns nothing from the results.",
        family: Family::Grid,
        hypergradients: false,
        make: Make::Proposes(|| Box::new(GridSearch::default())),
    },
    Method {
        name: "random",
        label: "Random search",
        summary: "Draws every hyperparameter at random on its own scale, so that the few that matter are each tried at many values.",
        family: Family::Random,
        hypergradients: false,
        make: Make::Proposes(|| Box::new(RandomSearch)),
    },
    Method {
        name: "tpe",
        label: "TPE (Bayesian)",
        summary: "Splits the trials into good and bad, models where each kind lies, and tries next where good trials are much likelier than bad.",
        family: Family::Bayesian,
        hypergradients: false,
        make: Make::Proposes(|| Box::new(Tpe::default())),
    },
    Method {
        name: "gp-ei",
        label: "Gaussian process + EI (Bayesian)",
        summary: "Fits a Gaussian process to the scores and tries next where the expected improvement over the best score is highest.",
        family: Family::Bayesian,
        hypergradients: false,
        make: Make::Proposes(|| Box::new(GpEi::default())),
    },
    Method {
        name: "cma-es",
        label: "CMA-ES (evolutionary)",
        summary: "Samples each generation from a normal distribution whose mean, shape and size follow the best points of the last.",
        family: Family::Evolutionary,
        hypergradients: false,
        make: Make::Proposes(|| Box::new(CmaEs::new())),
    },
    Method {
        name: "genetic",
        label: "Genetic algorithm (evolutionary)",
        summary: "Breeds each generation from the best configurations of the last by crossover and mutation, keeping the best two.",
        family: Family::Evolutionary,
        hypergradients: false,
        make: Make::Proposes(|| Box::new(Genetic::default())),
    },
    Method {
        name: "hypergradient",
        label: "Hypergradient descent (gradient-based)",
        summary: "Starts at random points, then moves the learning rate and the L2 strength by their gradients while the network trains.",
        family: Family::Gradient,
        hypergradients: true,
        make: Make::Proposes(|| Box::new(HypergradientStarts)),
    },
    Method {
        name: "successive-halving",
        label: "Successive halving (early stopping)",
        summary: "Starts many configurations for a few epochs, keeps the best third, trains them longer, and so on until one trains fully.",
        family: Family::EarlyStopping,
        hypergradients: false,
        make: Make::Supervises(|| Box::new(Hyperband::successive_halving(DEFAULT_ETA).expect("η = 3 is valid"))),
    },
    Method {
        name: "hyperband",
        label: "Hyperband (early stopping)",
        summary: "Runs successive halving at several balances of many short trials against few long ones, as no one balance suits every problem.",
        family: Family::EarlyStopping,
        hypergradients: false,
        make: Make::Supervises(|| Box::new(Hyperband::new(DEFAULT_ETA).expect("η = 3 is valid"))),
    },
    Method {
        name: "pbt",
        label: "Population-based training",
        summary: "Trains a population together; every few epochs the worst copy the weights and values of the best and change them a little.",
        family: Family::Population,
        hypergradients: false,
        make: Make::Supervises(|| Box::new(Pbt::default())),
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
            assert_eq!(method.made_name(), method.name, "the registry's name is the method's own");
            assert!(method.summary.ends_with('.') && !method.label.is_empty());
        }
        assert_eq!(names_listed(), "grid, random, tpe, gp-ei, cma-es, genetic, hypergradient, successive-halving, hyperband or pbt");
        assert!(by_name("annealing").unwrap_err().starts_with("unknown method \"annealing\"; the methods are grid, random, tpe,"));
    }
}
