//! `workshop`: runs one of the guide's patterns for a room, every role started from the built
//! zguide-examples binaries, each output line labelled (`[broker] ...`), the chapter's fault
//! injected on a timeline, and the chapter's promise checked at the end.
//!
//! A scenario is a small TOML file in `workshop/scenarios/` (see docs/workshop.md).

mod hosts;
mod run;
mod scenario;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    about = "Runs the guide's patterns as scripted scenarios: roles, faults, checks",
    after_help = "Build the examples first, in the same profile as this runner:\n  \
                  cargo build --release -p zguide-examples -p workshop\n\
                  The runner starts the binaries found next to itself (or in --bin-dir)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Directory of the scenario files [default: workshop/scenarios of this source tree].
    #[arg(long, global = true)]
    scenarios: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Lists the scenarios.
    List,
    /// Runs one scenario: exit status 0 if every check holds, 1 if one fails.
    Run {
        /// The scenario's name (`lazy-pirate`) or the path of a .toml file.
        scenario: String,
        /// First port of this run: `{port}` in a scenario is this, `{port+1}` the next, and
        /// so on. Give each person on a shared machine their own (5555, 5655, 5755, ...).
        #[arg(long, default_value_t = 5555)]
        port_base: u16,
        /// Directory of the zguide-examples binaries [default: the runner's own].
        #[arg(long)]
        bin_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn real_main(cli: Cli) -> Result<ExitCode> {
    let dir = cli
        .scenarios
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios"));
    match cli.command {
        Command::List => {
            for path in scenario_files(&dir)? {
                let name = path.file_stem().unwrap_or_default().to_string_lossy();
                match scenario::Scenario::load(&path) {
                    Ok(s) if s.chapter == 0 => println!("{name:<24} ch.- {}", s.title),
                    Ok(s) => println!("{name:<24} ch.{} {}", s.chapter, s.title),
                    Err(e) => println!("{name:<24} (broken: {e:#})"),
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            scenario,
            port_base,
            bin_dir,
        } => {
            let path = if scenario.ends_with(".toml") || scenario.contains('/') {
                PathBuf::from(&scenario)
            } else {
                dir.join(format!("{scenario}.toml"))
            };
            if !path.exists() {
                bail!(
                    "no scenario {scenario} ({} does not exist; `workshop list` shows them)",
                    path.display()
                );
            }
            let loaded = scenario::Scenario::load(&path)?;
            let bin_dir = match bin_dir {
                Some(d) => d,
                None => std::env::current_exe()
                    .context("cannot find the runner's own path")?
                    .parent()
                    .context("the runner has no directory")?
                    .to_path_buf(),
            };
            let ok = run::run(&loaded, port_base, &bin_dir)?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}
