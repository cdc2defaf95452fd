//! Simulated trouble for the Pirate servers and workers of chapter 4 (`lpserver`, `spworker`,
//! `ppworker`): after a few cycles, now and then a crash or a CPU overload, as the C originals
//! do with `randof`. Flags make it deterministic for tests. Example plumbing, not a pattern:
//! it lives here rather than in `zmq-patterns`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The command-line flags that choose the trouble (flattened into each binary's `Args`).
#[derive(clap::Args, Debug, Clone)]
pub struct TroubleArgs {
    /// Simulate a crash on request N+1 (instead of at random).
    #[arg(long, value_name = "N")]
    pub crash_after: Option<u64>,
    /// Simulate one CPU overload on request N+1 (instead of at random).
    #[arg(long, value_name = "N")]
    pub overload_after: Option<u64>,
    /// Never simulate any trouble.
    #[arg(long, conflicts_with_all = ["crash_after", "overload_after"])]
    pub reliable: bool,
    /// Seed of the random trouble (default: from the OS).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// What goes wrong with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trouble {
    None,
    Crash,
    Overload,
}

/// Counts the cycles and decides the trouble of each.
pub struct Simulator {
    args: TroubleArgs,
    one_in: u32,
    cycles: u64,
    rng: StdRng,
}

impl Simulator {
    /// In random mode (no `--crash-after`, `--overload-after` or `--reliable`), each request
    /// after the third crashes with odds 1 in `one_in`, else overloads with the same odds.
    pub fn new(args: &TroubleArgs, one_in: u32) -> Simulator {
        let rng = match args.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        Simulator {
            args: args.clone(),
            one_in: one_in.max(1),
            cycles: 0,
            rng,
        }
    }

    /// Counts one more request and says what goes wrong with it.
    pub fn next_request(&mut self) -> Trouble {
        self.cycles += 1;
        let a = &self.args;
        if a.reliable || a.crash_after.is_some() || a.overload_after.is_some() {
            if a.crash_after
                .is_some_and(|n| self.cycles == n.saturating_add(1))
            {
                Trouble::Crash
            } else if a
                .overload_after
                .is_some_and(|n| self.cycles == n.saturating_add(1))
            {
                Trouble::Overload
            } else {
                Trouble::None
            }
        } else if self.cycles > 3 && self.rng.gen_range(0..self.one_in) == 0 {
            Trouble::Crash
        } else if self.cycles > 3 && self.rng.gen_range(0..self.one_in) == 0 {
            Trouble::Overload
        } else {
            Trouble::None
        }
    }
}
