//! TLS for the HTTP listener: a rustls server configuration (ring provider) from PEM
//! certificate and key files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds no usable item.
    #[error("cannot load {what} from {path}: {detail}")]
    Load {
        /// `"certificate"` or `"private key"`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// rustls refused the certificate/key pair.
    #[error("invalid TLS certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A server configuration (HTTP/1.1 via ALPN) from a PEM certificate chain and key.
///
/// # Errors
/// [`TlsError::Load`] when a file is unreadable or holds no certificate/key;
/// [`TlsError::Rustls`] when the key does not fit the certificate.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let load_err = |what, path: &Path, detail: String| TlsError::Load {
        what,
        path: path.to_owned(),
        detail,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| load_err("certificate", cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| load_err("certificate", cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(load_err("certificate", cert, "no CERTIFICATE block".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| load_err("private key", key, e.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_generated_pair_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, ck.cert.pem()).unwrap();
        std::fs::write(&key, ck.key_pair.serialize_pem()).unwrap();
        let cfg = server_config(&cert, &key).unwrap();
        assert_eq!(cfg.alpn_protocols, vec![b"http/1.1".to_vec()]);

        std::fs::write(&key, "not a key").unwrap();
        let e = server_config(&cert, &key).unwrap_err();
        assert!(
            matches!(
                e,
                TlsError::Load {
                    what: "private key",
                    ..
                }
            ),
            "{e}"
        );
        let e = server_config(&dir.path().join("missing.pem"), &key).unwrap_err();
        assert!(
            matches!(
                e,
                TlsError::Load {
                    what: "certificate",
                    ..
                }
            ),
            "{e}"
        );
    }
}
