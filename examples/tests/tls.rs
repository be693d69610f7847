//! `-tls`: the server speaks HTTPS with the given certificate, and plain HTTP is refused.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use common::{Server, data_dir, tempdir};
use rustls::pki_types::ServerName;

#[test]
fn https_with_a_self_signed_certificate() {
    let dir = tempdir();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
    let srv = Server::start(
        &data_dir(&dir),
        &[
            "-tls",
            &format!("-tlsCertFile={}", cert.display()),
            &format!("-tlsKeyFile={}", key.display()),
        ],
    );
    assert!(
        srv.log_text().contains("listening on https://"),
        "{}",
        srv.log_text()
    );

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(&srv.addr).unwrap());
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    // The server may close without close_notify after the response; what was read counts.
    let _ = tls.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.ends_with("\r\n\r\nOK"), "{text}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = srv.request("GET", "/health", &[], b"");
    assert!(plain.is_err() || plain.unwrap().status != 200);
}
