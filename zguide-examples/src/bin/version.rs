//! Report the libzmq version (guide chapter 1, "Version Reporting").
//!
//! Prints `Current 0MQ version is X.Y.Z` and exits. Nothing to run beside it; the `zmq` crate
//! builds libzmq 4.3.4 from source, so expect `4.3.4`.

use clap::Parser;

#[derive(Parser)]
#[command(about = "Prints the version of the libzmq this program is linked with")]
struct Args {}

fn main() -> std::process::ExitCode {
    let _args = Args::parse();
    zguide_examples::run(false, || {
        let (major, minor, patch) = zmq::version();
        println!("Current 0MQ version is {major}.{minor}.{patch}");
        Ok(())
    })
}
