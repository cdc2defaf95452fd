//! Chapter 1 and 2: the divide-and-conquer pipeline (taskvent, taskwork, tasksink) and its
//! kill-channel variant (taskwork2, tasksink2).

mod common;
use common::*;

const TASKS: u32 = 40;
const MAX_WORKLOAD: u32 = 10;

/// Starts the ventilator and presses Enter once it has accepted the connections of all
/// `workers` (the guide's own "Press Enter when the workers are ready"). Nothing the programs
/// print says so: the test looks at the kernel's table of TCP connections.
fn ventilate(vent_ep: &str, sink_ep: &str, workers: usize) -> Proc {
    let tasks = TASKS.to_string();
    let max = MAX_WORKLOAD.to_string();
    let mut vent = Proc::start_with_stdin(
        bin!("taskvent"),
        &[
            "--bind",
            vent_ep,
            "--sink",
            sink_ep,
            "--tasks",
            &tasks,
            "--max-workload-ms",
            &max,
        ],
    );
    // Accepted by its I/O thread, each connection finishes its ZMTP handshake there at once;
    // the batch goes out only after Enter, a read of stdin and a message to the sink later.
    assert!(
        wait_until(WAIT, || tcp_accepted(port_of(vent_ep)) >= workers),
        "the workers never connected to the ventilator\n{}",
        vent.context()
    );
    vent.write_stdin("\n");
    vent
}

/// Checks the ventilator's output and returns the total expected cost it printed.
fn vent_total(vent: &mut Proc) -> u64 {
    let lines = vent.lines_until_end(WAIT);
    vent.wait_success(WAIT);
    assert_eq!(lines.len(), 2, "{lines:?}");
    // the prompt has no newline: it shares the first line with the next message
    assert_eq!(
        lines[0],
        "Press Enter when the workers are ready: Sending tasks to workers..."
    );
    let total = lines[1]
        .strip_prefix("Total expected cost: ")
        .and_then(|s| s.strip_suffix(" msec"))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("bad cost line {:?}", lines[1]));
    assert!(
        (u64::from(TASKS)..=u64::from(TASKS * MAX_WORKLOAD)).contains(&total),
        "{total}"
    );
    total
}

/// Checks the sink's lines: its start-up line, then one line of `:` on every tenth result,
/// `.` otherwise, then the time.
fn check_sink(sink: &mut Proc) {
    let mut lines = sink.lines_until_end(WAIT);
    sink.wait_success(WAIT);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("I: task sink is active at"), "{lines:?}");
    lines.remove(0);
    let progress: String = (0..TASKS)
        .map(|n| if n % 10 == 0 { ':' } else { '.' })
        .collect();
    let rest = lines[0]
        .strip_prefix(&progress)
        .unwrap_or_else(|| panic!("sink progress {:?}", lines[0]));
    let elapsed = rest
        .strip_prefix("Total elapsed time: ")
        .and_then(|s| s.strip_suffix(" msec"))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(elapsed.is_some(), "bad elapsed line {:?}", lines[0]);
}

#[test]
fn two_taskworks_both_share_the_batch_and_tasksink_times_it() {
    let (vent_ep, sink_ep) = (tcp_ep(), tcp_ep());
    let tasks = TASKS.to_string();
    let mut sink = Proc::start(bin!("tasksink"), &["--bind", &sink_ep, "--tasks", &tasks]);
    let workers: Vec<Proc> = (0..2)
        .map(|_| {
            Proc::start(
                bin!("taskwork"),
                &["--ventilator", &vent_ep, "--sink", &sink_ep],
            )
        })
        .collect();
    let mut vent = ventilate(&vent_ep, &sink_ep, 2);
    let total = vent_total(&mut vent);
    check_sink(&mut sink);

    // The workers run for ever: SIGINT must end them cleanly, and then their progress
    // output (`N.` per task, no newline) comes out as one line each.
    let mut done = 0;
    let mut cost = 0;
    for mut worker in workers {
        worker.stop_with(libc::SIGINT, WAIT);
        let out = worker.lines_until_end(WAIT).concat();
        let loads: Vec<u64> = out
            .strip_suffix('.')
            .unwrap_or_else(|| panic!("worker printed {out:?}"))
            .split('.')
            .map(|n| {
                n.parse()
                    .unwrap_or_else(|_| panic!("worker printed {out:?}"))
            })
            .collect();
        assert!(
            loads
                .iter()
                .all(|&n| (1..=u64::from(MAX_WORKLOAD)).contains(&n))
        );
        assert!(!loads.is_empty(), "a worker did no work");
        done += loads.len();
        cost += loads.iter().sum::<u64>();
    }
    assert_eq!(done, TASKS as usize);
    assert_eq!(
        cost, total,
        "the workers' workloads add up to the expected cost"
    );
}

#[test]
fn taskvent_and_tasksink_stop_cleanly_on_signals_while_waiting() {
    let (vent_ep, sink_ep) = (tcp_ep(), tcp_ep());
    let mut sink = Proc::start(bin!("tasksink"), &["--bind", &sink_ep]);
    sink.expect("I: task sink is active at", WAIT);
    // waiting for Enter
    let mut vent =
        Proc::start_with_stdin(bin!("taskvent"), &["--bind", &vent_ep, "--sink", &sink_ep]);
    vent.expect_prompt("Press Enter when the workers are ready: ", WAIT);
    vent.stop_with(libc::SIGINT, WAIT);
    assert_eq!(
        vent.lines_until_end(WAIT),
        vec!["Press Enter when the workers are ready: ".to_string()]
    );
    // waiting for the start of a batch
    sink.stop_with(libc::SIGTERM, WAIT);
    assert!(sink.lines_until_end(WAIT).is_empty());
}

/// Hardening: a half-typed line on stdin kept taskvent deaf to Ctrl-C and SIGTERM (the read
/// waited for the rest of the line). Reading a line is now interruptible.
#[test]
fn taskvent_stops_on_a_signal_with_half_a_line_typed() {
    let (vent_ep, sink_ep) = (tcp_ep(), tcp_ep());
    let mut vent =
        Proc::start_with_stdin(bin!("taskvent"), &["--bind", &vent_ep, "--sink", &sink_ep]);
    vent.expect_prompt("Press Enter when the workers are ready: ", WAIT);
    vent.write_stdin("half a li");
    // It has the half line (and waits for the rest) once nothing is left in the pipe
    vent.expect_stdin_read(WAIT);
    vent.stop_with(libc::SIGTERM, WAIT);
    assert_eq!(
        vent.lines_until_end(WAIT),
        vec!["Press Enter when the workers are ready: ".to_string()]
    );
}

#[test]
fn taskwork2_workers_exit_by_themselves_after_tasksink2_kills_them() {
    let (vent_ep, sink_ep, ctl_ep) = (tcp_ep(), tcp_ep(), tcp_ep());
    let tasks = TASKS.to_string();
    let mut sink = Proc::start(
        bin!("tasksink2"),
        &[
            "--bind",
            &sink_ep,
            "--controller",
            &ctl_ep,
            "--tasks",
            &tasks,
        ],
    );
    let mut workers: Vec<Proc> = (0..2)
        .map(|_| {
            Proc::start(
                bin!("taskwork2"),
                &[
                    "--ventilator",
                    &vent_ep,
                    "--sink",
                    &sink_ep,
                    "--controller",
                    &ctl_ep,
                ],
            )
        })
        .collect();
    let mut vent = ventilate(&vent_ep, &sink_ep, 2);
    vent_total(&mut vent);
    check_sink(&mut sink);

    // No signal: KILL from the sink ends each worker with status 0.
    let mut done = 0;
    for worker in &mut workers {
        worker.wait_success(WAIT);
        let out = worker.lines_until_end(WAIT).concat();
        assert!(out.chars().all(|c| c == '.'), "{out:?}");
        assert!(!out.is_empty(), "a worker did no work");
        done += out.len();
    }
    assert_eq!(done, TASKS as usize);
}
