//! Weather update client (guide chapter 1, "Getting the Message Out"): the PUB-SUB pattern.
//!
//! Connects a SUB socket to `tcp://localhost:5556`, subscribes to one zipcode (the first
//! argument, default `"10001 "`, New York City), collects 100 updates and prints their average
//! temperature: `Average temperature for zipcode '10001 ' was NF`.
//!
//! Run beside it: `wuserver` (or `wuproxy`, connecting here with `--connect`). With the real
//! server's 100,000 zipcodes this takes about ten million messages, some seconds.
//! Updates that are not one part that parses as `zipcode temperature humidity` are logged and
//! not counted.

use clap::Parser;
use zmq_patterns::SocketExt;

#[derive(Parser)]
#[command(about = "Weather update client: SUB, averages the temperature of one zipcode")]
struct Args {
    /// Subscription filter: the zipcode and a space.
    #[arg(default_value = "10001 ")]
    filter: String,
    /// Endpoint of the weather server (or proxy).
    #[arg(long, default_value = "tcp://localhost:5556")]
    connect: String,
    /// Number of updates to average.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    updates: u32,
}

/// `"%d %d %d"` -> the temperature, the second number.
fn temperature(update: &str) -> Option<i64> {
    let mut fields = update.split_whitespace().map(str::parse::<i64>);
    let (Some(Ok(_zipcode)), Some(Ok(temperature)), Some(Ok(_relhumidity))) =
        (fields.next(), fields.next(), fields.next())
    else {
        return None;
    };
    Some(temperature)
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        let ctx = zmq::Context::new();
        // Socket to talk to server
        println!("Collecting updates from weather server...");
        let subscriber = ctx.socket(zmq::SUB)?;
        subscriber.connect_to(&args.connect)?;
        // Subscribe to zipcode, default is NYC, 10001
        subscriber.set_subscribe(args.filter.as_bytes())?;

        let mut total_temp: i64 = 0;
        let mut update_nbr: i64 = 0;
        while update_nbr < i64::from(args.updates) {
            let Some(update) = subscriber.recv_text_or_drop()? else {
                continue;
            };
            match temperature(&update) {
                Some(t) => {
                    total_temp += t;
                    update_nbr += 1;
                }
                None => {
                    let update: String = update.chars().take(32).collect();
                    log::warn!("dropping malformed update {update:?}")
                }
            }
        }
        println!(
            "Average temperature for zipcode '{}' was {}F",
            args.filter,
            total_temp / update_nbr
        );
        Ok(())
    })
}
