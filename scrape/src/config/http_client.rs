//! HTTP client settings shared by scrape configs and service discovery configs
//! (Prometheus' `HTTPClientConfig`).
//!
//! Scrape and SD configs carry these fields inline (not under a key), so each of those
//! structs is declared through `with_http_client!`, which appends the fields and an
//! `http_client()` accessor building an [`HttpClientConfig`].

use serde::{Deserialize, Serialize};

use super::error::ConfigError;

/// `basic_auth:`
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    #[serde(default)]
    pub username: String,
    /// A file holding the user name (read on each request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_file: Option<String>,
    /// The password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A file holding the password (read on each request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
}

/// `authorization:` — an `Authorization: <type> <credentials>` header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme; `Bearer` when absent.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    /// A file holding the credentials (read on each request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<String>,
}

impl Authorization {
    /// The header scheme (`Bearer` by default).
    pub fn scheme(&self) -> &str {
        self.kind.as_deref().unwrap_or("Bearer")
    }
}

/// `tls_config:`
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM CA certificates, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// PEM CA certificates file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// PEM client certificate, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// PEM client certificate file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// PEM client key, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// PEM client key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// The server name checked against the certificate (SNI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Skip certificate verification.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Minimum TLS version (`TLS12`, `TLS13`); accepted, rustls supports only these two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// Maximum TLS version; accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
}

/// How requests authenticate, after validation: at most one of these applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No authentication header.
    None,
    /// `basic_auth`.
    Basic(BasicAuth),
    /// `authorization`, or `bearer_token(_file)` as a `Bearer` authorization.
    Authorization(Authorization),
}

/// The HTTP client settings of one scrape job or SD config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpClientConfig {
    /// `basic_auth:`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// `authorization:`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// `bearer_token:` (legacy form of `authorization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<String>,
    /// `bearer_token_file:` (legacy form of `authorization.credentials_file`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<String>,
    /// `oauth2:` — accepted by the parser, rejected by [`HttpClientConfig::validate`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<serde_yaml_ng::Value>,
    /// `tls_config:`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// `proxy_url:`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// `follow_redirects:` (default true).
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    /// `enable_http2:` (default true).
    #[serde(default = "yes")]
    pub enable_http2: bool,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            oauth2: None,
            tls_config: None,
            proxy_url: None,
            follow_redirects: true,
            enable_http2: true,
        }
    }
}

pub(crate) fn yes() -> bool {
    true
}

impl HttpClientConfig {
    /// Checks the settings the way Prometheus does.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the field: two auth methods at once, a value and
    /// its `_file` twin both set, an `authorization` of type `Basic`, TLS `ca` and
    /// `ca_file` both set; [`ConfigError::Unsupported`] for `oauth2`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, message: &str| ConfigError::Invalid {
            job: None,
            field,
            message: message.to_owned(),
        };
        if self.oauth2.is_some() {
            return Err(ConfigError::Unsupported { field: "oauth2" });
        }
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err(invalid(
                "bearer_token",
                "at most one of bearer_token & bearer_token_file must be configured",
            ));
        }
        let bearer = self.bearer_token.is_some() || self.bearer_token_file.is_some();
        if self.basic_auth.is_some() && (bearer || self.authorization.is_some()) {
            return Err(invalid(
                "basic_auth",
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            ));
        }
        if let Some(b) = &self.basic_auth {
            if b.password.is_some() && b.password_file.is_some() {
                return Err(invalid(
                    "basic_auth",
                    "at most one of basic_auth password & password_file must be configured",
                ));
            }
            if !b.username.is_empty() && b.username_file.is_some() {
                return Err(invalid(
                    "basic_auth",
                    "at most one of basic_auth username & username_file must be configured",
                ));
            }
        }
        if let Some(a) = &self.authorization {
            if bearer {
                return Err(invalid(
                    "authorization",
                    "authorization is not compatible with bearer_token & bearer_token_file",
                ));
            }
            if a.credentials.is_some() && a.credentials_file.is_some() {
                return Err(invalid(
                    "authorization",
                    "at most one of authorization credentials & credentials_file must be configured",
                ));
            }
            if a.scheme().eq_ignore_ascii_case("basic") {
                return Err(invalid(
                    "authorization",
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
                ));
            }
        }
        if let Some(t) = &self.tls_config {
            for (inline, file, name) in [
                (&t.ca, &t.ca_file, "ca"),
                (&t.cert, &t.cert_file, "cert"),
                (&t.key, &t.key_file, "key"),
            ] {
                if inline.is_some() && file.is_some() {
                    return Err(ConfigError::Invalid {
                        job: None,
                        field: "tls_config",
                        message: format!(
                            "at most one of {name} and {name}_file must be configured"
                        ),
                    });
                }
            }
            let has_cert = t.cert.is_some() || t.cert_file.is_some();
            let has_key = t.key.is_some() || t.key_file.is_some();
            if has_cert != has_key {
                return Err(invalid(
                    "tls_config",
                    "client cert and key must be configured together",
                ));
            }
        }
        if let Some(p) = &self.proxy_url
            && !(p.starts_with("http://")
                || p.starts_with("https://")
                || p.starts_with("socks5://"))
        {
            return Err(ConfigError::Invalid {
                job: None,
                field: "proxy_url",
                message: format!("unsupported proxy scheme in {p:?}"),
            });
        }
        Ok(())
    }

    /// The authentication method (call after [`HttpClientConfig::validate`]).
    pub fn auth(&self) -> Auth {
        if let Some(b) = &self.basic_auth {
            return Auth::Basic(b.clone());
        }
        if let Some(a) = &self.authorization {
            return Auth::Authorization(a.clone());
        }
        if self.bearer_token.is_some() || self.bearer_token_file.is_some() {
            return Auth::Authorization(Authorization {
                kind: None,
                credentials: self.bearer_token.clone(),
                credentials_file: self.bearer_token_file.clone(),
            });
        }
        Auth::None
    }

    /// Resolves relative file names (`password_file`, `ca_file`...) against `dir`, the
    /// directory of the config file, as Prometheus does.
    pub fn resolve_paths(&mut self, dir: &std::path::Path) {
        let fix = |p: &mut Option<String>| {
            if let Some(s) = p
                && !s.is_empty()
                && std::path::Path::new(s).is_relative()
            {
                *s = dir.join(&*s).to_string_lossy().into_owned();
            }
        };
        if let Some(b) = &mut self.basic_auth {
            fix(&mut b.password_file);
            fix(&mut b.username_file);
        }
        if let Some(a) = &mut self.authorization {
            fix(&mut a.credentials_file);
        }
        fix(&mut self.bearer_token_file);
        if let Some(t) = &mut self.tls_config {
            fix(&mut t.ca_file);
            fix(&mut t.cert_file);
            fix(&mut t.key_file);
        }
    }
}

/// Declares a config struct carrying the HTTP client fields inline, and its
/// `http_client()` accessor. serde's `flatten` cannot be combined with
/// `deny_unknown_fields`, hence the macro.
macro_rules! with_http_client {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// `basic_auth:`
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub basic_auth: Option<$crate::config::BasicAuth>,
            /// `authorization:`
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub authorization: Option<$crate::config::Authorization>,
            /// `bearer_token:`
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub bearer_token: Option<String>,
            /// `bearer_token_file:`
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub bearer_token_file: Option<String>,
            /// `oauth2:` (not supported: rejected by validation).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub oauth2: Option<serde_yaml_ng::Value>,
            /// `tls_config:`
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub tls_config: Option<$crate::config::TlsConfig>,
            /// `proxy_url:`
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub proxy_url: Option<String>,
            /// `follow_redirects:` (default true).
            #[serde(default = "crate::config::http_client::yes")]
            pub follow_redirects: bool,
            /// `enable_http2:` (default true).
            #[serde(default = "crate::config::http_client::yes")]
            pub enable_http2: bool,
        }

        impl $name {
            /// The HTTP client settings of this config.
            pub fn http_client(&self) -> $crate::config::HttpClientConfig {
                $crate::config::HttpClientConfig {
                    basic_auth: self.basic_auth.clone(),
                    authorization: self.authorization.clone(),
                    bearer_token: self.bearer_token.clone(),
                    bearer_token_file: self.bearer_token_file.clone(),
                    oauth2: self.oauth2.clone(),
                    tls_config: self.tls_config.clone(),
                    proxy_url: self.proxy_url.clone(),
                    follow_redirects: self.follow_redirects,
                    enable_http2: self.enable_http2,
                }
            }

            /// Writes back settings changed on the result of `http_client()` (path
            /// resolution).
            pub(crate) fn set_http_client(&mut self, c: $crate::config::HttpClientConfig) {
                self.basic_auth = c.basic_auth;
                self.authorization = c.authorization;
                self.bearer_token = c.bearer_token;
                self.bearer_token_file = c.bearer_token_file;
                self.oauth2 = c.oauth2;
                self.tls_config = c.tls_config;
                self.proxy_url = c.proxy_url;
                self.follow_redirects = c.follow_redirects;
                self.enable_http2 = c.enable_http2;
            }
        }
    };
}
pub(crate) use with_http_client;

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> HttpClientConfig {
        serde_yaml_ng::from_str(text).unwrap()
    }

    fn invalid_field(text: &str) -> &'static str {
        match parse(text).validate() {
            Err(ConfigError::Invalid { field, .. }) => field,
            other => panic!("expected Invalid for {text:?}, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let c = parse("{}");
        assert!(c.follow_redirects && c.enable_http2);
        assert_eq!(c.auth(), Auth::None);
        c.validate().unwrap();
    }

    #[test]
    fn bearer_becomes_authorization() {
        let c = parse("bearer_token_file: /t");
        assert_eq!(
            c.auth(),
            Auth::Authorization(Authorization {
                kind: None,
                credentials: None,
                credentials_file: Some("/t".into())
            })
        );
    }

    #[test]
    fn conflicts_are_rejected() {
        assert_eq!(
            invalid_field("bearer_token: a\nbearer_token_file: b"),
            "bearer_token"
        );
        assert_eq!(
            invalid_field("bearer_token: a\nbasic_auth: {username: u}"),
            "basic_auth"
        );
        assert_eq!(
            invalid_field("bearer_token: a\nauthorization: {credentials: c}"),
            "authorization"
        );
        assert_eq!(
            invalid_field("authorization: {type: Basic}"),
            "authorization"
        );
        assert_eq!(
            invalid_field("basic_auth: {username: u, password: p, password_file: f}"),
            "basic_auth"
        );
        assert_eq!(
            invalid_field("tls_config: {ca: x, ca_file: y}"),
            "tls_config"
        );
        assert_eq!(invalid_field("tls_config: {cert_file: y}"), "tls_config");
        assert_eq!(invalid_field("proxy_url: ftp://x"), "proxy_url");
        assert!(matches!(
            parse("oauth2: {client_id: x}").validate(),
            Err(ConfigError::Unsupported { field: "oauth2" })
        ));
    }

    #[test]
    fn relative_files_resolve_against_the_config_dir() {
        let mut c =
            parse("basic_auth: {username: u, password_file: pw}\ntls_config: {ca_file: /abs/ca}");
        c.resolve_paths(std::path::Path::new("/etc/gnomon"));
        assert_eq!(
            c.basic_auth.unwrap().password_file.as_deref(),
            Some("/etc/gnomon/pw")
        );
        assert_eq!(c.tls_config.unwrap().ca_file.as_deref(), Some("/abs/ca"));
    }
}
