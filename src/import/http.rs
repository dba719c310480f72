//! Fetching `query_range` from a live Prometheus (or Thanos, Mimir, VictoriaMetrics: the same
//! API, sometimes under a path prefix such as `/prometheus`).
//!
//! Plain HTTP and HTTPS (rustls with the Mozilla roots compiled in, plus a private CA from
//! `--ca-cert`: no system OpenSSL), a timeout per request, and credentials taken from an environment variable, sent as a header
//! and never written into an error, a log line or an output file. Credentials in the URL are
//! refused for the same reason.

use std::io::Read;
use std::time::Duration;

use base64::Engine;

use crate::error::{Error, Result};

/// How to authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic base64(user:password)`.
    Basic(String),
}

impl std::fmt::Debug for Auth {
    // Never print the secret, not even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "Auth::None",
            Auth::Bearer(_) => "Auth::Bearer(<redacted>)",
            Auth::Basic(_) => "Auth::Basic(<redacted>)",
        })
    }
}

impl Auth {
    /// Read a bearer token (`bearer`) or `user:password` (`basic`) from the environment
    /// variable `var`; the error names the variable, never its value.
    pub fn from_env(kind: &str, var: &str) -> Result<Auth> {
        let value = std::env::var(var).map_err(|_| {
            Error::invalid(format!("environment variable {var} (--{kind}-env) is not set or not UTF-8"))
        })?;
        let value = value.trim().to_string();
        if value.is_empty() {
            return Err(Error::invalid(format!("environment variable {var} (--{kind}-env) is empty")));
        }
        match kind {
            "bearer-token" => Ok(Auth::Bearer(value)),
            _ if !value.contains(':') => Err(Error::invalid(format!(
                "environment variable {var} (--basic-auth-env) must hold user:password, but it has no ':'"
            ))),
            _ => Ok(Auth::Basic(value)),
        }
    }

    fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Bearer(t) => Some(format!("Bearer {t}")),
            Auth::Basic(up) => Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(up))),
        }
    }
}

/// A Prometheus HTTP API endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    auth: Auth,
    agent: ureq::Agent,
    timeout: Duration,
}

/// One `query_range` request.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeQuery<'a> {
    /// PromQL.
    pub query: &'a str,
    /// Unix seconds.
    pub start: f64,
    /// Unix seconds.
    pub end: f64,
    /// Seconds.
    pub step: f64,
}

impl Client {
    /// A client for `url` (`http(s)://host:port[/prefix]`), trusting the Mozilla roots.
    pub fn new(url: &str, auth: Auth, timeout: Duration) -> Result<Client> {
        Client::with_ca(url, auth, timeout, None)
    }

    /// The same, trusting also the PEM certificates in `ca` (an in-cluster Prometheus behind a
    /// private CA).
    pub fn with_ca(url: &str, auth: Auth, timeout: Duration, ca: Option<&std::path::Path>) -> Result<Client> {
        let mut base = url.trim().trim_end_matches('/').to_string();
        // Schemes are case-insensitive.
        if let Some((scheme, rest)) = base.split_once("://") {
            base = format!("{}://{rest}", scheme.to_ascii_lowercase());
        }
        let rest = base.strip_prefix("http://").or_else(|| base.strip_prefix("https://")).ok_or_else(|| {
            Error::invalid(format!("--url must start with http:// or https://, but \"{}\" does not", redact(url)))
        })?;
        if rest.contains(['?', '#']) {
            return Err(Error::invalid(
                "--url takes no query string or fragment: credentials go in --bearer-token-env or --basic-auth-env",
            ));
        }
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains('@') {
            return Err(Error::invalid(
                "--url must not hold credentials: put them in an environment variable and pass --bearer-token-env or --basic-auth-env",
            ));
        }
        if authority.is_empty() {
            return Err(Error::invalid(format!("--url \"{base}\" has no host")));
        }
        if base.contains("/api/v1") {
            return Err(Error::invalid(format!(
                "--url is the server's base address (with any path prefix such as /prometheus), without /api/v1: \"{base}\""
            )));
        }
        let mut builder = ureq::AgentBuilder::new();
        if let Some(path) = ca {
            builder = builder.tls_config(std::sync::Arc::new(tls_config(path)?));
        }
        let agent = builder.timeout(timeout).user_agent(concat!("meshcap/", env!("CARGO_PKG_VERSION"))).build();
        Ok(Client { base, auth, agent, timeout })
    }

    /// The base address (never holds credentials).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `message` with every form of the secret replaced: servers echo headers in error pages.
    pub fn scrub(&self, message: String) -> String {
        let secrets: Vec<String> = match &self.auth {
            Auth::None => Vec::new(),
            Auth::Bearer(t) => vec![t.clone()],
            Auth::Basic(up) => {
                let mut v = vec![base64::engine::general_purpose::STANDARD.encode(up), up.clone()];
                if let Some((_, password)) = up.split_once(':') {
                    v.push(password.to_string());
                }
                v
            }
        };
        // Also as servers echo them inside JSON: escaped, with or without "\/".
        let forms: Vec<String> = secrets
            .iter()
            .filter(|s| !s.is_empty())
            .flat_map(|s| {
                let json = serde_json::to_string(s).unwrap_or_default().trim_matches('"').to_string();
                [s.clone(), json.clone(), json.replace('/', "\\/")]
            })
            .collect();
        forms.iter().fold(message, |m, s| m.replace(s.as_str(), "<redacted>"))
    }

    /// GET `/api/v1/query_range`; the body of a successful answer, or an error that names the
    /// server (not the credentials) and, for API errors, Prometheus' errorType and error.
    pub fn query_range(&self, q: &RangeQuery<'_>) -> Result<Vec<u8>> {
        self.query_range_raw(q).map_err(|e| match e {
            Error::Remote(m) => Error::Remote(self.scrub(m)),
            Error::Invalid(m) => Error::Invalid(self.scrub(m)),
            other => other,
        })
    }

    fn query_range_raw(&self, q: &RangeQuery<'_>) -> Result<Vec<u8>> {
        let url = format!("{}/api/v1/query_range", self.base);
        let mut req = self
            .agent
            .get(&url)
            .query("query", q.query)
            .query("start", &fmt_secs(q.start))
            .query("end", &fmt_secs(q.end))
            .query("step", &fmt_secs(q.step));
        if let Some(h) = self.auth.header() {
            req = req.set("Authorization", &h);
        }
        match req.call() {
            Ok(resp) => read_body(resp, &url),
            Err(ureq::Error::Status(code, resp)) => {
                let body = read_body(resp, &url).unwrap_or_default();
                match super::promjson::parse(&body) {
                    Err(super::promjson::ResponseError::Api { error_type, error }) => {
                        let msg = format!("Prometheus at {} answered HTTP {code}, {error_type}: {error}", self.base);
                        // A bad query is the user's input; a server that is down is not.
                        Err(if error_type == "bad_data" { Error::Invalid(msg) } else { Error::Remote(msg) })
                    }
                    _ => {
                        let hint = match code {
                            401 | 403 => " (check --bearer-token-env / --basic-auth-env)",
                            404 => " (is there a path prefix? Mimir serves the API under /prometheus)",
                            _ => "",
                        };
                        let snippet: String = String::from_utf8_lossy(&body).chars().take(120).collect();
                        let snippet = snippet.split_whitespace().collect::<Vec<_>>().join(" ");
                        Err(Error::Remote(format!("{url} answered HTTP {code}{hint}: {snippet}")))
                    }
                }
            }
            Err(ureq::Error::Transport(t)) => {
                let reason = t.to_string();
                let timed_out =
                    reason.contains("timed out") || reason.contains("Timeout") || reason.contains("timeout");
                let why = if timed_out {
                    format!("no answer within {} s (--timeout)", self.timeout.as_secs_f64())
                } else {
                    transport_reason(&t)
                };
                Err(Error::Remote(format!("cannot query {url}: {why}")))
            }
        }
    }
}

/// rustls with the Mozilla roots plus the certificates of `ca`.
fn tls_config(ca: &std::path::Path) -> Result<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let bytes = std::fs::read(ca).map_err(|source| Error::Read { path: ca.to_path_buf(), source })?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::data(format!("--ca-cert is not PEM: {e}"), ca))?;
    if certs.is_empty() {
        return Err(Error::data("--ca-cert holds no -----BEGIN CERTIFICATE----- block", ca));
    }
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    for (k, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| Error::data(format!("--ca-cert certificate {} is unusable: {e}", k + 1), ca))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Remote(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

fn read_body(resp: ureq::Response, url: &str) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    resp.into_reader()
        .read_to_end(&mut body)
        .map_err(|e| Error::Remote(format!("reading the answer of {url} failed: {e}")))?;
    Ok(body)
}

/// The transport error without ureq's echo of the URL (which we print ourselves), with its
/// cause: "tls connection init failed" alone does not say the certificate was refused.
fn transport_reason(t: &ureq::Transport) -> String {
    let mut out = t.kind().to_string();
    if let Some(m) = t.message() {
        out.push_str(&format!(": {m}"));
    }
    let mut source = std::error::Error::source(t);
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    if out.contains("UnknownIssuer") {
        out.push_str(" (a private CA? pass --ca-cert FILE)");
    }
    out
}

/// Seconds as Prometheus reads them: integers plainly, fractions to the millisecond.
fn fmt_secs(t: f64) -> String {
    if t == t.trunc() {
        format!("{}", t as i64)
    } else {
        format!("{t:.3}")
    }
}

/// A URL with any `user:password@` and query string removed, for messages.
pub fn redact(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or("");
    let (scheme, rest) = url.split_once("://").map_or(("", url), |(s, r)| (s, r));
    let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let scheme = if scheme.is_empty() { String::new() } else { format!("{scheme}://") };
    match path {
        Some(p) => format!("{scheme}{host}/{p}"),
        None => format!("{scheme}{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_secrets() {
        assert_eq!(redact("https://u:secret@mimir.example/prometheus"), "https://mimir.example/prometheus");
        assert_eq!(redact("admin:s3cret@prom:9090"), "prom:9090");
        assert_eq!(redact("http://prom:9090?token=X"), "http://prom:9090");
        let e = Client::new("admin:s3cret@prom:9090", Auth::None, Duration::from_secs(1)).unwrap_err();
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert!(Client::new("http://prom:9090?token=X", Auth::None, Duration::from_secs(1)).is_err());
        assert_eq!(Client::new("HTTPS://prom", Auth::None, Duration::from_secs(1)).unwrap().base(), "https://prom");
        let c = Client::new("http://h", Auth::Basic("u:pw123".into()), Duration::from_secs(1)).unwrap();
        assert_eq!(
            c.scrub("got dTpwdzEyMw== and u:pw123 and pw123".into()),
            "got <redacted> and <redacted> and <redacted>"
        );
        // Echoed inside JSON: quotes and slashes escaped.
        let c = Client::new("http://h", Auth::Bearer(r#"a"b/c"#.into()), Duration::from_secs(1)).unwrap();
        assert_eq!(c.scrub(r#"{"m":"a\"b/c a\"b\/c"}"#.into()), r#"{"m":"<redacted> <redacted>"}"#);
        let e = Client::new("http://u:p@h:9090", Auth::None, Duration::from_secs(1)).unwrap_err();
        assert!(!e.to_string().contains(":p@"));
        assert!(Client::new("ftp://h", Auth::None, Duration::from_secs(1)).is_err());
        assert!(Client::new("http://h:9090/api/v1/query_range", Auth::None, Duration::from_secs(1)).is_err());
        assert_eq!(
            Client::new("http://h:9090/prometheus/", Auth::None, Duration::from_secs(1)).unwrap().base(),
            "http://h:9090/prometheus"
        );
        assert_eq!(format!("{:?}", Auth::Bearer("tok".into())), "Auth::Bearer(<redacted>)");
        assert_eq!(Auth::Basic("a:b".into()).header().unwrap(), "Basic YTpi");
        assert_eq!((fmt_secs(30.0), fmt_secs(1.5)), ("30".to_string(), "1.500".to_string()));
    }
}
