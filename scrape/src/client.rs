//! HTTP clients built from [`HttpClientConfig`]: one [`reqwest::Client`] per job or SD
//! config, and the authentication header added to each request.
//!
//! Secrets named by `*_file` settings are read again on every request, as Prometheus
//! does, so rotated tokens are picked up without a reload.
//!
//! `tls_config.server_name` is not applied (reqwest has no per-client SNI override);
//! `min_version`/`max_version` are accepted (rustls speaks TLS 1.2 and 1.3 only).

use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Certificate, Client, Identity, RequestBuilder};

use crate::config::{Auth, HttpClientConfig, TlsConfig};

/// Why a client cannot be built or a request not authenticated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A secret or certificate file cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A certificate, key or proxy setting is not valid.
    #[error("{what}: {source}")]
    Setting {
        /// Which setting (`tls_config.ca_file`, `proxy_url`...).
        what: &'static str,
        /// What reqwest said.
        #[source]
        source: reqwest::Error,
    },
    /// A credential holds bytes not allowed in an HTTP header.
    #[error("{what}: value not allowed in an HTTP header")]
    InvalidHeader {
        /// Which credential.
        what: &'static str,
    },
    /// The client cannot be built.
    #[error("cannot build HTTP client: {0}")]
    Build(#[source] reqwest::Error),
}

/// Settings of a client that do not come from the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientOptions {
    /// Whole-request timeout; none when `None`.
    pub timeout: Option<Duration>,
    /// Ask for and decode gzip responses.
    pub gzip: bool,
    /// `User-Agent` header.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: None,
            gzip: true,
            user_agent: concat!("gnomon/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

fn read_file(path: &str) -> Result<Vec<u8>, ClientError> {
    std::fs::read(path).map_err(|source| ClientError::Io {
        path: PathBuf::from(path),
        source,
    })
}

/// An inline value, or the contents of its `_file` twin.
fn inline_or_file(
    inline: &Option<String>,
    file: &Option<String>,
) -> Result<Option<Vec<u8>>, ClientError> {
    match (inline, file) {
        (Some(v), _) => Ok(Some(v.as_bytes().to_vec())),
        (None, Some(f)) => read_file(f).map(Some),
        (None, None) => Ok(None),
    }
}

/// Builds a client: TLS roots and client certificate, proxy, redirects, HTTP/2.
///
/// # Errors
/// [`ClientError::Io`] for unreadable certificate files, [`ClientError::Setting`] for
/// certificates, keys or a proxy URL that do not parse, [`ClientError::Build`] when
/// reqwest refuses the combination.
pub fn build_client(cfg: &HttpClientConfig, opts: &ClientOptions) -> Result<Client, ClientError> {
    let mut b = Client::builder()
        .user_agent(opts.user_agent.clone())
        .gzip(opts.gzip)
        .redirect(if cfg.follow_redirects {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        });
    if let Some(t) = opts.timeout {
        b = b.timeout(t);
    }
    if !cfg.enable_http2 {
        b = b.http1_only();
    }
    if let Some(tls) = &cfg.tls_config {
        b = apply_tls(b, tls)?;
    }
    if let Some(p) = &cfg.proxy_url {
        let proxy = reqwest::Proxy::all(p).map_err(|source| ClientError::Setting {
            what: "proxy_url",
            source,
        })?;
        b = b.proxy(proxy);
    }
    b.build().map_err(ClientError::Build)
}

fn apply_tls(
    mut b: reqwest::ClientBuilder,
    tls: &TlsConfig,
) -> Result<reqwest::ClientBuilder, ClientError> {
    if tls.insecure_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(pem) = inline_or_file(&tls.ca, &tls.ca_file)? {
        let certs = Certificate::from_pem_bundle(&pem).map_err(|source| ClientError::Setting {
            what: "tls_config.ca",
            source,
        })?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    let cert = inline_or_file(&tls.cert, &tls.cert_file)?;
    let key = inline_or_file(&tls.key, &tls.key_file)?;
    if let (Some(mut cert), Some(key)) = (cert, key) {
        cert.push(b'\n');
        cert.extend_from_slice(&key);
        let id = Identity::from_pem(&cert).map_err(|source| ClientError::Setting {
            what: "tls_config.cert",
            source,
        })?;
        b = b.identity(id);
    }
    Ok(b)
}

/// The `Authorization` header value for `auth`, reading `_file` secrets now; `None`
/// without authentication.
///
/// # Errors
/// [`ClientError::Io`] for an unreadable secret file, [`ClientError::InvalidHeader`] for
/// a secret that is not a valid header value.
pub fn authorization_header(auth: &Auth) -> Result<Option<HeaderValue>, ClientError> {
    let text = match auth {
        Auth::None => return Ok(None),
        Auth::Basic(b) => {
            let user = match &b.username_file {
                Some(f) => trimmed(read_file(f)?),
                None => b.username.clone(),
            };
            let password = inline_or_file(&b.password, &b.password_file)?
                .map(trimmed)
                .unwrap_or_default();
            format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
        }
        Auth::Authorization(a) => {
            let creds = inline_or_file(&a.credentials, &a.credentials_file)?
                .map(trimmed)
                .unwrap_or_default();
            format!("{} {creds}", a.scheme())
        }
    };
    let mut v = HeaderValue::from_str(&text).map_err(|_| ClientError::InvalidHeader {
        what: "authorization",
    })?;
    v.set_sensitive(true);
    Ok(Some(v))
}

/// Adds the authentication header of `cfg` to `req`.
///
/// # Errors
/// As [`authorization_header`].
pub fn apply_auth(
    req: RequestBuilder,
    cfg: &HttpClientConfig,
) -> Result<RequestBuilder, ClientError> {
    Ok(match authorization_header(&cfg.auth())? {
        Some(v) => req.header(AUTHORIZATION, v),
        None => req,
    })
}

/// File contents without the trailing newline editors add (Prometheus trims spaces).
fn trimmed(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).trim().to_owned()
}

/// Standard base64 with padding (RFC 4648), for basic auth.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Authorization, BasicAuth};

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (input, want) in cases {
            assert_eq!(base64(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn basic_auth_header() {
        let auth = Auth::Basic(BasicAuth {
            username: "Aladdin".into(),
            password: Some("open sesame".into()),
            ..BasicAuth::default()
        });
        let v = authorization_header(&auth).unwrap().unwrap();
        assert_eq!(v.to_str().unwrap(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert!(v.is_sensitive());
    }

    #[test]
    fn credential_files_are_read_on_each_call() {
        let dir = tempfile::tempdir().unwrap();
        let token = dir.path().join("token");
        std::fs::write(&token, "first\n").unwrap();
        let auth = Auth::Authorization(Authorization {
            kind: None,
            credentials: None,
            credentials_file: Some(token.to_str().unwrap().into()),
        });
        let get = || {
            authorization_header(&auth)
                .unwrap()
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(get(), "Bearer first");
        std::fs::write(&token, "second").unwrap();
        assert_eq!(get(), "Bearer second");
        std::fs::remove_file(&token).unwrap();
        assert!(
            matches!(authorization_header(&auth), Err(ClientError::Io { path, .. }) if path == token)
        );
    }

    #[test]
    fn custom_scheme_and_bad_bytes() {
        let a = |c: &str| {
            Auth::Authorization(Authorization {
                kind: Some("Token".into()),
                credentials: Some(c.into()),
                credentials_file: None,
            })
        };
        assert_eq!(
            authorization_header(&a("abc")).unwrap().unwrap(),
            "Token abc"
        );
        assert!(matches!(
            authorization_header(&a("a\nb")),
            Err(ClientError::InvalidHeader { .. })
        ));
        assert_eq!(authorization_header(&Auth::None).unwrap(), None);
    }

    #[test]
    fn client_settings() {
        let cfg: HttpClientConfig = serde_yaml_ng::from_str("proxy_url: 'http://proxy:3128'\nfollow_redirects: false\nenable_http2: false\ntls_config: {insecure_skip_verify: true}").unwrap();
        build_client(&cfg, &ClientOptions::default()).unwrap();
        let bad_ca: HttpClientConfig =
            serde_yaml_ng::from_str("tls_config: {ca: 'not a pem'}").unwrap();
        // A PEM bundle without certificates is empty, not an error; a missing file is.
        build_client(&bad_ca, &ClientOptions::default()).unwrap();
        let missing: HttpClientConfig =
            serde_yaml_ng::from_str("tls_config: {ca_file: /nonexistent/ca.pem}").unwrap();
        assert!(matches!(
            build_client(&missing, &ClientOptions::default()),
            Err(ClientError::Io { .. })
        ));
    }
}
