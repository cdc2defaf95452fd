//! Load-balancing broker (guide chapter 3, "A Load Balancing Message Broker"): a ROUTER
//! frontend for clients, a ROUTER backend for workers, and a queue of ready workers.
//!
//! Binds the frontend to `ipc://frontend.ipc` and the backend to `ipc://backend.ipc` and starts
//! ten client threads (REQ: send `HELLO`, print `Client: OK`) and three worker threads (REQ:
//! send `READY`, then print `Worker: HELLO` and reply `OK` to each request), each with its own
//! context as if it were a separate process. A worker's message puts it on the queue of ready
//! workers; the frontend is polled only while that queue is not empty, and each client request
//! goes to the worker that has waited longest. So a worker never holds more than one request.
//! After each poll it takes what is waiting on both sides, in turns, before it polls again
//! (the C original takes one message per poll, and a poll costs more than the message).
//! The broker exits once every client has had its reply.
//!
//! Each worker line ends with the worker's identity, `Worker: HELLO (worker 1A2B-3C4D)`, so
//! that you can see the work spread over the workers.
//! With `--clients 0 --workers 0` it starts no threads and brokers for outside clients and
//! workers (`READY` / `[client][""][reply]` on the backend) until Ctrl-C.
//!
//! Fixes the C original's ending: it returned as soon as the last reply was sent, so the last
//! clients' `Client: OK` lines could be lost; this version waits for the clients. Identities
//! are handled as binary frames, so clients need no printable identity (C's `s_recv` did). A
//! worker answers `OK` to any request, even one without a body (a DEALER client's bare empty
//! frame), logging what it did not expect: a REQ socket must answer before it can receive
//! again, and a worker that does not is lost to the broker. A thread that fails ends the
//! process with status 1 rather than leave the broker with nobody to serve.

use std::collections::VecDeque;
use std::time::Duration;

use clap::Parser;
use zguide_examples::bind;
use zmq_patterns::{Frame, Msg, Poller, SocketExt, clock};

/// Most messages taken from each side between two polls.
const BURST: usize = 1000;

#[derive(Parser)]
#[command(about = "Load-balancing broker with in-process REQ clients and REQ workers")]
struct Args {
    /// Endpoint the ROUTER socket for clients binds to.
    #[arg(long, default_value = "ipc://frontend.ipc")]
    frontend: String,
    /// Endpoint the ROUTER socket for workers binds to.
    #[arg(long, default_value = "ipc://backend.ipc")]
    backend: String,
    /// Number of client threads (0: none, and run until Ctrl-C).
    #[arg(long, default_value_t = 10)]
    clients: u32,
    /// Number of worker threads.
    #[arg(long, default_value_t = 3)]
    workers: u32,
}

/// Basic request-reply client using a REQ socket.
fn client_task(endpoint: &str) -> anyhow::Result<()> {
    let context = zmq::Context::new();
    let client = context.socket(zmq::REQ)?;
    client.set_linger(0)?;
    client.connect_to(endpoint)?;

    // Send request, get reply
    client.send_text("HELLO")?;
    let reply = client.recv_text()?;
    println!("Client: {reply}");
    Ok(())
}

/// Worker using a REQ socket to do load balancing.
fn worker_task(endpoint: &str) -> anyhow::Result<()> {
    let context = zmq::Context::new();
    let worker = context.socket(zmq::REQ)?;
    worker.set_linger(0)?;
    let me = worker.set_random_identity()?;
    worker.connect_to(endpoint)?;

    // Tell broker we're ready for work
    worker.send_text("READY")?;

    loop {
        // Request is [client][""][request]; the reply goes back in the same envelope. Whatever
        // the request, our REQ socket must answer it before it can receive again.
        let mut request = Msg::recv(&worker)?;
        let client = request.pop_envelope().unwrap_or_default();
        match request.pop_front_str() {
            Some(text) => println!("Worker: {text} (worker {me})"),
            None => log::warn!("worker {me}: request without a body"),
        }
        if !request.is_empty() {
            log::warn!("worker {me}: {} more part(s) ignored", request.len());
        }

        let mut reply = Msg::from_iter(["OK"]);
        reply.push_envelope(client);
        reply.send(&worker)?;
    }
}

fn spawn(
    name: &str,
    n: u32,
    endpoint: &str,
    task: fn(&str) -> anyhow::Result<()>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..n)
        .map(|_| {
            let endpoint = endpoint.to_string();
            zguide_examples::spawn_vital(name, move || task(&endpoint))
        })
        .collect()
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    zguide_examples::run(false, || {
        // Prepare our context and sockets
        let context = zmq::Context::new();
        let frontend = context.socket(zmq::ROUTER)?;
        let backend = context.socket(zmq::ROUTER)?;
        frontend.set_linger(0)?;
        backend.set_linger(0)?;
        bind(&frontend, &args.frontend, "--frontend")?;
        bind(&backend, &args.backend, "--backend")?;

        // The ipc files we bound (the guide's defaults are in the working directory) go
        // when we return, Ctrl-C included.
        let _ipc_files = zguide_examples::IpcFiles::bound([&args.frontend, &args.backend]);

        let clients = spawn("client", args.clients, &args.frontend, client_task);
        // Workers end with the process
        spawn("worker", args.workers, &args.backend, worker_task);

        // Queue of available workers, longest waiting first. Each message costs O(1) whatever
        // the number of workers (push at the back, pop at the front, as the C original's zlist),
        // and nothing is allocated per message once the queue and the message buffers have
        // grown to their working size.
        let mut worker_queue: VecDeque<Frame> = VecDeque::new();
        let mut replies = 0;

        let mut poller = Poller::new();
        poller.add(&backend);
        let from_clients = poller.add(&frontend);
        while args.clients == 0 || replies < args.clients {
            // Poll frontend only if we have available workers
            let events = if worker_queue.is_empty() {
                zmq::PollEvents::empty()
            } else {
                zmq::POLLIN
            };
            poller.set_events(from_clients, events);
            poller.poll(None)?;

            // Then take what is waiting on both sides, in turns, before polling again (the C
            // original takes one message per poll; a poll costs more than the message).
            for _ in 0..BURST {
                let mut idle = true;
                // Handle worker activity on backend: [worker][""][READY] or
                // [worker][""][client][""][reply]
                if let Some(mut msg) = Msg::try_recv(&backend)? {
                    idle = false;
                    if let Some(worker_id) = msg.pop_envelope().filter(|_| !msg.is_empty()) {
                        // Queue worker identity for load balancing
                        worker_queue.push_back(worker_id);
                        // If client reply, send rest back to frontend
                        if msg.len() != 1 || msg[0] != "READY" {
                            msg.send(&frontend)?;
                            replies += 1;
                        }
                    } else {
                        log::warn!("malformed message from a worker dropped");
                    }
                }
                // Client request is [client][""][request]: route it to the oldest ready worker
                if !worker_queue.is_empty() {
                    if let Some(mut msg) = Msg::try_recv(&frontend)? {
                        idle = false;
                        if let Some(worker_id) = worker_queue.pop_front() {
                            msg.push_envelope(worker_id);
                            msg.send(&backend)?;
                        }
                    }
                }
                if idle || (args.clients != 0 && replies >= args.clients) {
                    break;
                }
            }
        }
        // Let every client print its reply before the process ends (Ctrl-C still works)
        while !clients.iter().all(|client| client.is_finished()) {
            clock::sleep(Duration::from_millis(10))?;
        }
        Ok(())
    })
}
