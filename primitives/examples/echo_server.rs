//! A small concurrent TCP echo server on 127.0.0.1, with several clients checking the echoes
//! and a clean shutdown.
//!
//! # Threads, not tasks, for blocking IO
//!
//! In Go each connection gets a goroutine, and blocking reads are fine because Go's runtime
//! parks the goroutine on its network poller and frees the thread. weft has no IO reactor:
//! a `std::net` read inside a weft task would block the worker thread it runs on, and with it
//! every other task queued there. So the server here uses plain `std::thread`s for the
//! accept loop and for each connection, exactly where Go would use goroutines, and weft for
//! the coordination around them: a `WaitGroup` tracking the live connections (so shutdown
//! waits for them) and a channel collecting the clients' reports.
//!
//! # Shutdown
//!
//! `TcpListener::accept` cannot be interrupted, so stopping the server takes two steps: set a
//! stop flag, then connect to the listener once ourselves. The accept loop wakes with that
//! connection, sees the flag, and returns; then it waits for the open connections to finish.
//!
//! Run with `cargo run --release -p weft-go --example echo_server`.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use weft::chan;
use weft::sync::WaitGroup;

/// Client threads.
const CLIENTS: usize = 8;
/// Lines each client sends.
const LINES: usize = 200;
/// A client gives up on an echo after this long (so a bug fails the run instead of hanging).
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's shared state.
struct Server {
    stop: AtomicBool,
    /// Live connection threads: `shutdown` waits for them.
    connections: WaitGroup,
    /// Lines echoed, over all connections.
    echoed: AtomicU64,
    /// Connections accepted (the shutdown's own wake-up connection not counted).
    accepted: AtomicU64,
}

/// Echoes every line of `stream` back until the client closes its side.
fn handle(server: &Server, stream: TcpStream) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    while reader.read_line(&mut line)? != 0 {
        writer.write_all(line.as_bytes())?;
        server.echoed.fetch_add(1, Ordering::Relaxed);
        line.clear();
    }
    Ok(())
}

/// The accept loop: a thread per connection, until the stop flag is set. Returns once every
/// connection it started has finished.
fn serve(server: Arc<Server>, listener: TcpListener) {
    for stream in listener.incoming() {
        if server.stop.load(Ordering::SeqCst) {
            break; // the wake-up connection from `shutdown`
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        server.accepted.fetch_add(1, Ordering::Relaxed);
        // Go's `wg.Add(1); go func() { defer wg.Done(); handle(conn) }()`, with a thread.
        server.connections.add(1);
        let server = Arc::clone(&server);
        thread::spawn(move || {
            if let Err(e) = handle(&server, stream) {
                eprintln!("connection failed: {e}");
            }
            server.connections.done();
        });
    }
    // Stop accepting (the listener drops here), then let the open connections finish.
    server.connections.wait();
}

/// Sends `LINES` lines and checks that each comes back unchanged. Returns the lines checked.
fn client(addr: SocketAddr, id: usize) -> std::io::Result<usize> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut echo = String::new();
    for i in 0..LINES {
        let line = format!("client {id} line {i}: {}\n", "x".repeat(i % 50));
        writer.write_all(line.as_bytes())?;
        echo.clear();
        reader.read_line(&mut echo)?;
        assert_eq!(echo, line, "client {id} got a wrong echo");
    }
    Ok(LINES)
    // The stream drops here: the server's read sees end-of-file and the connection ends.
}

fn main() {
    let start = Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind"); // port 0: any free port
    let addr = listener.local_addr().unwrap();
    let server = Arc::new(Server {
        stop: AtomicBool::new(false),
        connections: WaitGroup::new(),
        echoed: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
    });
    let server_thread = thread::spawn({
        let server = Arc::clone(&server);
        move || serve(server, listener)
    });

    // The clients, each on its own thread, report on one channel: (client, result).
    let (reports_tx, reports_rx) = chan::unbounded();
    for id in 0..CLIENTS {
        let reports_tx = reports_tx.clone();
        thread::spawn(move || {
            let result = client(addr, id).map_err(|e| e.to_string());
            reports_tx.send((id, result)).unwrap();
        });
    }
    drop(reports_tx); // the clients hold the only Senders: the channel closes when they end

    // A client thread that panics (a wrong echo) drops its Sender without reporting; the
    // count below catches that.
    let mut lines = 0;
    let mut reported = 0;
    for (id, result) in reports_rx.iter() {
        match result {
            Ok(n) => lines += n,
            Err(e) => panic!("client {id}: {e}"),
        }
        reported += 1;
    }
    assert_eq!(reported, CLIENTS, "every client reported success");

    // Shut down: flag, wake the accept loop, wait for it (and so for every connection).
    server.stop.store(true, Ordering::SeqCst);
    drop(TcpStream::connect(addr).expect("wake-up connection"));
    server_thread.join().unwrap();

    assert_eq!(server.connections.count(), 0);
    assert_eq!(server.accepted.load(Ordering::Relaxed), CLIENTS as u64);
    assert_eq!(
        server.echoed.load(Ordering::Relaxed),
        (CLIENTS * LINES) as u64
    );
    assert_eq!(lines, CLIENTS * LINES);
    // The listener is closed: nothing accepts connections on the port any more.
    assert!(
        TcpStream::connect(addr).is_err(),
        "the server still accepts connections"
    );
    println!(
        "echo_server: {CLIENTS} clients x {LINES} lines echoed and checked via {addr}; \
         server shut down cleanly; {:.1?}",
        start.elapsed()
    );
}
