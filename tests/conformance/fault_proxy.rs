//! A fault-injecting TCP proxy on loopback, between nextorm and a real server: it forwards bytes
//! both ways until told to drop every connection (the server is gone), refuse new ones (still
//! gone) and accept again (back), swallow bytes without closing (a half-open network), or cut a
//! connection right after the client's `COMMIT` reached the server (the reply is lost).
//!
//! It runs on its own tokio runtime, so both facades' tests use it the same way.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// One forwarded connection: its task, and the local port of its socket to the server (how the
/// server's process list names it).
struct Link {
    task: AbortHandle,
    server_side_port: u16,
}

#[derive(Default)]
struct Faults {
    refuse: AtomicBool,
    swallow: AtomicBool,
    cut_after_commit: AtomicBool,
    links: Mutex<Vec<Link>>,
}

/// The `host:port` a server URL connects to.
pub fn server_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    authority.rsplit_once('@').map_or(authority, |(_, host)| host).to_owned()
}

/// The proxy; it stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    faults: Arc<Faults>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    /// A proxy on an ephemeral loopback port, forwarding to `server` (`host:port`).
    pub fn start(server: &str) -> FaultProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("the proxy's runtime");
        // Bound without the runtime's `block_on`: the async tests call this inside their own.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the proxy's address");
        let listener = {
            let _inside = runtime.enter();
            TcpListener::from_std(listener).expect("the listener on the proxy's runtime")
        };
        let faults = Arc::new(Faults::default());
        runtime.spawn(accept(listener, server.to_owned(), faults.clone()));
        FaultProxy { addr, faults, runtime: Some(runtime) }
    }

    /// `url` with its `host:port` replaced by the proxy's, and TLS off: the proxy reads the
    /// protocol's plain text to find a `COMMIT`.
    pub fn url_for(&self, url: &str, server: &str) -> String {
        assert!(url.contains(server), "{url} does not name {server}");
        let plain = if url.starts_with("postgres") { "sslmode=disable" } else { "ssl-mode=DISABLED" };
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{}{sep}{plain}", url.replacen(server, &self.addr.to_string(), 1))
    }

    /// Closes every forwarded connection, both sides.
    pub fn drop_all(&self) {
        for link in self.faults.links.lock().unwrap().drain(..) {
            link.task.abort();
        }
    }

    /// While on, new connections are accepted and closed at once, as by a server that is down.
    pub fn refuse(&self, on: bool) {
        self.faults.refuse.store(on, Ordering::SeqCst);
    }

    /// While on, bytes in both directions are read and thrown away; nothing is closed.
    pub fn swallow(&self, on: bool) {
        self.faults.swallow.store(on, Ordering::SeqCst);
    }

    /// The next `COMMIT` a client sends is forwarded to the server, and its connection closed
    /// before any answer reaches the client.
    pub fn cut_after_next_commit(&self) {
        self.faults.cut_after_commit.store(true, Ordering::SeqCst);
    }

    /// The local ports of the proxy's open sockets to the server.
    pub fn server_side_ports(&self) -> Vec<u16> {
        let mut links = self.faults.links.lock().unwrap();
        links.retain(|l| !l.task.is_finished());
        links.iter().map(|l| l.server_side_port).collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.drop_all();
        // Dropping a runtime inside another one's task is refused; this never blocks.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn accept(listener: TcpListener, server: String, faults: Arc<Faults>) {
    loop {
        let Ok((client, _)) = listener.accept().await else { continue };
        if faults.refuse.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let Ok(upstream) = TcpStream::connect(&server).await else { continue };
        let server_side_port = upstream.local_addr().map(|a| a.port()).unwrap_or(0);
        let task = tokio::spawn(forward(client, upstream, faults.clone())).abort_handle();
        faults.links.lock().unwrap().push(Link { task, server_side_port });
    }
}

/// Forwards until either side closes; then both close.
async fn forward(client: TcpStream, upstream: TcpStream, faults: Arc<Faults>) {
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = upstream.into_split();
    // Set once this connection's COMMIT went to the server: nothing more reaches the client.
    let muted = AtomicBool::new(false);
    let upstream_leg = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from_client.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if faults.swallow.load(Ordering::SeqCst) {
                continue;
            }
            let commit = buf[..n].windows(6).any(|w| w == b"COMMIT");
            let cut = commit && faults.cut_after_commit.swap(false, Ordering::SeqCst);
            if cut {
                muted.store(true, Ordering::SeqCst);
            }
            if to_server.write_all(&buf[..n]).await.is_err() {
                return;
            }
            if cut {
                return;
            }
        }
    };
    let downstream_leg = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from_server.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if faults.swallow.load(Ordering::SeqCst) || muted.load(Ordering::SeqCst) {
                continue;
            }
            if to_client.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = upstream_leg => {}
        () = downstream_leg => {}
    }
}
