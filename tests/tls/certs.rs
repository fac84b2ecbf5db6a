//! A certificate authority and a server certificate for `localhost`, made by the system's
//! `openssl` command in a directory of the test's own.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files the servers and clients use: the CA's certificate (the root a client trusts), and
/// the server's certificate, signed by that CA for the DNS name `localhost` only (no IP address:
/// `127.0.0.1` is a name the certificate does not hold), and its key.
pub struct Certificates {
    pub root: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

/// Runs `openssl` with `args` in `dir`; panics with its output if it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl (is it installed?): {e}"));
    assert!(out.status.success(), "openssl {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// Makes the CA and the server certificate in `dir` (P-256 keys, valid for two days).
pub fn make(dir: &Path) -> Certificates {
    let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(key);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=nextorm test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    let mut request = vec!["req"];
    request.extend(key);
    request.extend(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    openssl(dir, &request);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName = DNS:localhost\nbasicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\n",
    )
    .expect("write the server certificate's extensions");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
    Certificates { root: dir.join("ca.crt"), server_cert: dir.join("server.crt"), server_key: dir.join("server.key") }
}
