//! Throwaway PostgreSQL and MariaDB servers that accept TLS connections only: each has its own
//! data directory under one scratch directory, listens on a free loopback port, and is stopped
//! (and its directory deleted) when dropped, on a panic too.
//!
//! As root the servers run as their system accounts (`postgres`, `mysql`): `initdb` refuses root.

use crate::certs::Certificates;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A directory of the test's own, deleted on drop.
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub fn new() -> ScratchDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("nextorm_tls_{}_{nanos}", std::process::id()));
        std::fs::create_dir(&dir).expect("create the scratch directory");
        // The servers' accounts reach their subdirectories through it.
        set_mode(&dir, 0o755);
        ScratchDir(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("set a file's mode");
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The system account a server runs as when the test runs as root.
fn server_account(account: &'static str) -> Option<&'static str> {
    running_as_root().then_some(account)
}

/// `program` run as `account` (through `runuser`) when there is one.
fn command_as(account: Option<&str>, program: &Path) -> Command {
    match account {
        Some(account) => {
            let mut c = Command::new("runuser");
            c.args(["-u", account, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// Runs `command` to completion; panics with its output if it fails.
fn run(mut command: Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The first of `names` found on `PATH` or in `extra` directories.
pub fn find_program(names: &[&str], extra: &[PathBuf]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).chain(extra.iter().cloned()).collect();
    names.iter().flat_map(|name| dirs.iter().map(move |d| d.join(name))).find(|p| p.is_file())
}

/// PostgreSQL's server programs: `initdb` on `PATH`, else the newest `/usr/lib/postgresql/*/bin`.
fn postgres_bin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .collect();
    dirs.sort();
    dirs.into_iter().rev().map(|(_, d)| d).collect()
}

/// A loopback port no one listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("its address").port()
}

/// Copies the certificate files a server reads into `dir`, which `account` owns.
fn server_files(certs: &Certificates, dir: &Path, account: Option<&str>) {
    std::fs::create_dir(dir).expect("create a server's directory");
    for file in [&certs.root, &certs.server_cert, &certs.server_key] {
        std::fs::copy(file, dir.join(file.file_name().expect("a file name"))).expect("copy a certificate file");
    }
    set_mode(&dir.join("server.key"), 0o600);
    if let Some(account) = account {
        let mut chown = Command::new("chown");
        chown.arg("-R").arg(format!("{account}:")).arg(dir);
        run(chown, "chown");
    }
}

/// A PostgreSQL cluster with `ssl = on` whose `pg_hba.conf` admits `hostssl` connections only.
pub struct TlsPostgres {
    pub port: u16,
    bin: PathBuf,
    data: PathBuf,
    account: Option<&'static str>,
    started: bool,
}

impl TlsPostgres {
    /// Whether this machine has PostgreSQL's server programs.
    pub fn available() -> bool {
        find_program(&["initdb"], &postgres_bin_dirs()).is_some()
    }

    /// Creates the cluster in `dir/pg` and starts it; `pg_ctl -w` waits until it accepts
    /// connections.
    pub fn start(dir: &Path, certs: &Certificates) -> TlsPostgres {
        let initdb = find_program(&["initdb"], &postgres_bin_dirs()).expect("PostgreSQL's initdb");
        let bin = initdb.parent().expect("initdb's directory").to_owned();
        let account = server_account("postgres");
        let home = dir.join("pg");
        server_files(certs, &home, account);
        let mut server = TlsPostgres { port: free_port(), bin, data: home.join("data"), account, started: false };
        let mut init = command_as(account, &server.bin.join("initdb"));
        init.arg("-D").arg(&server.data).args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
        run(init, "initdb");
        std::fs::write(server.data.join("pg_hba.conf"), "hostssl all all 127.0.0.1/32 trust\nlocal all all trust\n")
            .expect("write pg_hba.conf");
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{home}'\n\
             ssl = on\nssl_cert_file = '{home}/server.crt'\nssl_key_file = '{home}/server.key'\n\
             fsync = off\nmax_connections = 20\n",
            port = server.port,
            home = home.display()
        );
        let mut all = std::fs::read_to_string(server.data.join("postgresql.conf")).expect("read postgresql.conf");
        all.push_str(&conf);
        std::fs::write(server.data.join("postgresql.conf"), all).expect("write postgresql.conf");
        server.started = true;
        let mut start = command_as(account, &server.bin.join("pg_ctl"));
        start.arg("-D").arg(&server.data).arg("-l").arg(home.join("server.log")).args(["-w", "-t", "60", "start"]);
        start.stdin(Stdio::null());
        run(start, "pg_ctl start");
        server
    }
}

impl Drop for TlsPostgres {
    fn drop(&mut self) {
        if self.started {
            let mut stop = command_as(self.account, &self.bin.join("pg_ctl"));
            stop.arg("-D").arg(&self.data).args(["-m", "immediate", "-w", "stop"]);
            let _ = stop.stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
    }
}

/// A MariaDB server started with its certificate and `require_secure_transport = ON`; `root`
/// has no password and logs in from `127.0.0.1`.
pub struct TlsMariaDb {
    pub port: u16,
    child: Child,
}

fn mariadb_programs() -> Option<(PathBuf, PathBuf)> {
    let sbin = [PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")];
    Some((
        find_program(&["mariadb-install-db", "mysql_install_db"], &sbin)?,
        find_program(&["mariadbd", "mysqld"], &sbin)?,
    ))
}

impl TlsMariaDb {
    /// Whether this machine has MariaDB's server programs.
    pub fn available() -> bool {
        mariadb_programs().is_some()
    }

    /// Creates the data directory in `dir/my`, starts the server and polls its port until it
    /// accepts connections.
    pub fn start(dir: &Path, certs: &Certificates) -> TlsMariaDb {
        let (install, mariadbd) = mariadb_programs().expect("MariaDB's server programs");
        let account = server_account("mysql");
        let home = dir.join("my");
        server_files(certs, &home, account);
        let data = home.join("data");
        let user = account.map(|a| format!("--user={a}"));
        let mut init = Command::new(install);
        init.arg("--no-defaults").arg(format!("--datadir={}", data.display()));
        init.args(["--auth-root-authentication-method=normal", "--skip-test-db"]).args(&user);
        run(init, "mariadb-install-db");
        let port = free_port();
        let mut server = Command::new(mariadbd);
        server.arg("--no-defaults").args(&user).arg(format!("--datadir={}", data.display()));
        server.arg(format!("--port={port}")).arg(format!("--socket={}", home.join("server.sock").display()));
        server.arg(format!("--pid-file={}", home.join("server.pid").display()));
        server.arg(format!("--log-error={}", home.join("server.err").display()));
        for (option, file) in [("ssl-cert", "server.crt"), ("ssl-key", "server.key"), ("ssl-ca", "ca.crt")] {
            server.arg(format!("--{option}={}", home.join(file).display()));
        }
        server.args([
            "--bind-address=127.0.0.1",
            "--require-secure-transport=ON",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=16M",
        ]);
        let child = server.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        let mut server = TlsMariaDb { port, child: child.expect("start mariadbd") };
        server.wait_until_ready(&home.join("server.err"));
        server
    }

    /// Polls the port (the server listens once it is ready) while the process lives.
    fn wait_until_ready(&mut self, log: &Path) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let until = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            let exited = self.child.try_wait().expect("poll mariadbd");
            if exited.is_some() || Instant::now() > until {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                panic!("mariadbd did not come up on port {} ({exited:?}): {log}", self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TlsMariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
