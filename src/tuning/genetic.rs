//! A genetic algorithm, as the seed document describes evolutionary search (Holland 1975;
//! Goldberg 1989): a population of configurations; each generation, parents are picked by
//! tournament (the best of three drawn at random), pairs are recombined (uniform crossover: each
//! param from one parent or the other — the seed's "recombinación"), and children are mutated
//! (each param, with probability 1/d, nudged by a normal step of 0.1 in the unit cube, or
//! redrawn if categorical). The best two of a generation survive unchanged (elitism) and are
//! not evaluated again; the children fill the rest. Generation 0 is random. Failed trials are
//! left out of the population. `generations` exposes each population for the charts.

use super::random::random_unit;
pub use super::snapshot::Member;
use super::snapshot::Snapshot;
use super::space::{Domain, SearchSpace, Value};
use super::stats::standard_normal;
use super::strategy::{GenerationQueue, Observation, Strategy};
use crate::rng::{below, unit_f64, Rng64};

#[derive(Debug, Clone)]
pub struct Genetic {
    pub population_size: usize,
    pub elites: usize,
    pub tournament: usize,
    population: Vec<Member>,
    generations: Vec<Vec<Member>>,
    queue: GenerationQueue,
    /// The current generation's children's parents (indices into `population`), in order.
    pairs: Vec<(usize, usize)>,
    /// The parents of the children the last ask handed out.
    handed_out: Vec<(usize, usize)>,
}

impl Default for Genetic {
    fn default() -> Self {
        Self::new(20)
    }
}

impl Genetic {
    pub fn new(population_size: usize) -> Self {
        Self {
            population_size: population_size.max(4),
            elites: 2,
            tournament: 3,
            population: Vec::new(),
            generations: Vec::new(),
            queue: GenerationQueue::default(),
            pairs: Vec::new(),
            handed_out: Vec::new(),
        }
    }

    /// Every evaluated population so far, best first.
    pub fn generations(&self) -> &[Vec<Member>] {
        &self.generations
    }

    /// A parent by tournament: its index in the population.
    fn pick(&self, rng: &mut Rng64) -> usize {
        (0..self.tournament)
            .map(|_| below(rng, self.population.len()))
            .min_by(|&a, &b| self.population[a].loss.total_cmp(&self.population[b].loss))
            .expect("a tournament of at least one")
    }

    /// A child and its two parents.
    fn child(&self, space: &SearchSpace, rng: &mut Rng64) -> (Vec<f64>, (usize, usize)) {
        let parents = (self.pick(rng), self.pick(rng));
        let (a, b) = (&self.population[parents.0].unit, &self.population[parents.1].unit);
        let d = space.len();
        let child = (0..d)
            .map(|i| {
                let gene = if unit_f64(rng) < 0.5 { a[i] } else { b[i] };
                if unit_f64(rng) >= 1.0 / d as f64 {
                    return gene;
                }
                match space.params()[i].domain {
                    Domain::Categorical { .. } => unit_f64(rng),
                    _ => (gene + 0.1 * standard_normal(rng)).clamp(0.0, 1.0),
                }
            })
            .collect();
        (child, parents)
    }
}

impl Strategy for Genetic {
    fn name(&self) -> &'static str {
        "genetic"
    }

    fn ask(&mut self, space: &SearchSpace, history: &[Observation], n: usize, rng: &mut Rng64) -> Vec<Vec<Value>> {
        if self.queue.is_empty() {
            // The previous generation is evaluated: its scored members join the survivors, and
            // the best `population_size` (elites first) make the population.
            let evaluated = self.queue.finished(history);
            let mut contenders: Vec<Member> = self.population.iter().take(self.elites).cloned().collect();
            contenders.extend(evaluated.iter().filter_map(|o| o.loss.map(|loss| Member { unit: o.unit.clone(), loss })));
            contenders.sort_by(|a, b| a.loss.total_cmp(&b.loss));
            contenders.truncate(self.population_size);
            if !evaluated.is_empty() {
                self.generations.push(contenders.clone());
            }
            self.population = contenders;
            let count = if self.population.len() < 2 { self.population_size } else { self.population_size - self.elites };
            let (children, pairs): (Vec<_>, Vec<_>) =
                (0..count).map(|_| if self.population.len() < 2 { (random_unit(space.len(), rng), (0, 0)) } else { self.child(space, rng) }).unzip();
            self.pairs = if self.population.len() < 2 { Vec::new() } else { pairs };
            self.queue.start(children);
        }
        let from = self.queue.position();
        let out = self.queue.hand_out(space, n);
        self.handed_out = self.pairs.get(from..from + out.len()).map(<[_]>::to_vec).unwrap_or_default();
        out
    }

    fn snapshot(&self) -> Option<Snapshot> {
        // Generation 0 is drawn at random; later ones are bred from the population.
        Some(match self.generations.len() {
            index if index > 0 && self.population.len() >= 2 => {
                Snapshot::Genetic { index, parents: self.population.clone(), elites: self.elites, pairs: self.handed_out.clone() }
            }
            _ => Snapshot::Uniform { warming_up: None },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuning::space::Param;
    use crate::tuning::study::{Direction, Outcome, Study, StudyConfig};

    /// With elitism the best of each population is never worse than the one before, and the
    /// populations close in on the optimum of a simple bowl.
    #[test]
    fn elites_survive_and_the_population_improves() {
        let space = SearchSpace::new(vec![Param::float("x", 0.0, 1.0), Param::float("y", 0.0, 1.0), Param::categorical("c", &["a", "b"])]).unwrap();
        let mut study = Study::new(
            space.clone(),
            Box::new(Genetic::new(12)),
            StudyConfig { seed: 4, direction: Direction::Minimize, budget: 200, batch_size: 5 },
            Box::new(|_| 1),
        );
        study.optimize(
            |trial| {
                let v = trial.values;
                let (x, y) = (v[0].as_f64().unwrap(), v[1].as_f64().unwrap());
                let c = if v[2] == Value::Choice("b".into()) { 0.0 } else { 0.2 };
                Outcome::Complete((x - 0.7).powi(2) + (y - 0.2).powi(2) + c)
            },
            |_| {},
        );
        // The strategy itself, replayed on the same history, shows its populations.
        let mut ga = Genetic::new(12);
        let history: Vec<Observation> = study.trials().iter().map(|t| Observation { values: t.values.clone(), unit: t.unit.clone(), loss: t.score }).collect();
        let mut rng = crate::rng::rng_for(4, crate::rng::streams::TUNING);
        // (The study's last batch may have been cut by the budget: stop there.)
        while ga.queue.proposed() < history.len() {
            let proposals = ga.ask(&space, &history[..ga.queue.proposed()], 5, &mut rng);
            let start = ga.queue.proposed() - proposals.len();
            let n = proposals.len().min(history.len() - start);
            assert_eq!(
                proposals[..n],
                history[start..start + n].iter().map(|o| o.values.clone()).collect::<Vec<_>>()[..],
                "the replay proposes what the study ran"
            );
        }
        let best: Vec<f64> = ga.generations().iter().map(|g| g[0].loss).collect();
        assert!(best.len() >= 5, "{} generations", best.len());
        assert!(best.windows(2).all(|w| w[1] <= w[0]), "{best:?}");
        assert!(best.last().unwrap() < &0.01, "{best:?}");
    }
}
