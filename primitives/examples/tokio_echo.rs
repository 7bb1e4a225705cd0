//! weft's channels inside a tokio program: a TCP echo server on 127.0.0.1 whose internal
//! queues are weft channels, run by tokio's multi-thread runtime and its network reactor.
//!
//! Each connection gets two tokio tasks joined by a `weft::chan::bounded(16)` of lines: a
//! reader that sends every line it reads (waiting while the writer is 16 lines behind:
//! back-pressure), and a writer that receives them and writes them back. Every reader also
//! reports each line on one shared `unbounded` channel to an audit task (many producers,
//! one consumer, as a `Stream`). The accept loop stops when a `bounded(0)` quit channel
//! closes, inside `tokio::select!` (weft's receive future is cancel-safe: dropping the
//! unchosen branch loses nothing). Eight clients send 200 lines each and check every echo;
//! then the server shuts down, the audit checks that it saw every line once, and the whole
//! run is bounded by a 20 s timeout.
//!
//! Run with `cargo run --release -p weft-go --example tokio_echo`.

use std::time::Duration;

use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use weft::chan::{bounded, unbounded, Receiver, Sender};

const CLIENTS: usize = 8;
const LINES: usize = 200;

/// One line seen by a reader: which connection (in accept order) and its length.
struct Seen {
    conn: usize,
    bytes: usize,
}

async fn serve(listener: TcpListener, quit: Receiver<()>, audit: Sender<Seen>) -> usize {
    let mut conns = Vec::new();
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => accepted.expect("accept on loopback").0,
            _ = quit.recv_async() => break, // closed: stop accepting
        };
        let conn = conns.len();
        let audit = audit.clone();
        conns.push(tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let (lines_tx, lines_rx) = bounded::<String>(16);
            let writer = tokio::spawn(async move {
                while let Ok(line) = lines_rx.recv_async().await {
                    write.write_all(line.as_bytes()).await.expect("write echo");
                }
            });
            let mut read = BufReader::new(read);
            loop {
                let mut line = String::new();
                if read.read_line(&mut line).await.expect("read line") == 0 {
                    break; // the client closed its side
                }
                let bytes = line.len();
                audit
                    .send_async(Seen { conn, bytes })
                    .await
                    .expect("the audit outlives the connections");
                lines_tx
                    .send_async(line)
                    .await
                    .expect("the writer runs until the lines end");
            }
            drop(lines_tx); // the writer drains what is queued, then ends
            writer.await.expect("writer task");
        }));
    }
    let accepted = conns.len();
    for c in conns {
        c.await.expect("connection task");
    }
    accepted
}

async fn client(addr: std::net::SocketAddr, id: usize) -> usize {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (read, mut write) = stream.into_split();
    let sender = tokio::spawn(async move {
        for k in 0..LINES {
            let line = format!("client {id} line {k} {}\n", "x".repeat(k % 40));
            write.write_all(line.as_bytes()).await.expect("send line");
        }
        write.shutdown().await.expect("close the write side");
    });
    let mut read = BufReader::new(read);
    let mut echoed = 0;
    for k in 0..LINES {
        let mut line = String::new();
        read.read_line(&mut line).await.expect("read echo");
        let want = format!("client {id} line {k} {}\n", "x".repeat(k % 40));
        assert_eq!(line, want, "client {id}: echo {k}");
        echoed += 1;
    }
    let mut rest = String::new();
    assert_eq!(
        read.read_line(&mut rest).await.expect("eof"),
        0,
        "nothing more"
    );
    sender.await.expect("client sender");
    echoed
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (echoed, accepted, seen) = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            let addr = listener.local_addr().expect("local address");
            let (quit_tx, quit_rx) = bounded::<()>(0);
            let (audit_tx, audit_rx) = unbounded::<Seen>();
            let auditor = tokio::spawn(async move {
                let mut per_conn = [0usize; CLIENTS];
                let mut bytes = 0;
                let mut audit = audit_rx.into_stream();
                while let Some(seen) = audit.next().await {
                    per_conn[seen.conn] += 1;
                    bytes += seen.bytes;
                }
                (per_conn, bytes)
            });
            let server = tokio::spawn(serve(listener, quit_rx, audit_tx));
            let clients: Vec<_> = (0..CLIENTS)
                .map(|id| tokio::spawn(client(addr, id)))
                .collect();
            let mut echoed = 0;
            for c in clients {
                echoed += c.await.expect("client task");
            }
            drop(quit_tx); // every client is done: stop the server
            let accepted = server.await.expect("server task");
            // The server's audit senders are gone now: the audit stream ends.
            let seen = auditor.await.expect("audit task");
            (echoed, accepted, seen)
        })
        .await
        .expect("the echo run finishes within 20 s")
    });
    let (per_conn, bytes) = seen;
    let want_bytes: usize = (0..CLIENTS)
        .map(|id| {
            (0..LINES)
                .map(|k| format!("client {id} line {k} {}\n", "x".repeat(k % 40)).len())
                .sum::<usize>()
        })
        .sum();
    assert_eq!(echoed, CLIENTS * LINES, "every line echoed");
    assert_eq!(accepted, CLIENTS, "one connection per client");
    assert!(
        per_conn.iter().all(|&n| n == LINES),
        "the audit saw every line once: {per_conn:?}"
    );
    assert_eq!(bytes, want_bytes, "the audit's byte count");
    println!(
        "tokio_echo: {CLIENTS} clients x {LINES} lines echoed through weft channels on tokio, {bytes} bytes audited"
    );
}
