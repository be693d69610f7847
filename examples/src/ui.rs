//! The web UI: plain HTML, CSS and JavaScript modules from `examples/ui/`, embedded in the
//! binary at compile time (no build step, no network; cargo rebuilds when a file changes).
//!
//! Routes, as VictoriaMetrics serves its vmui:
//! - `/`, `/graph` (what Prometheus users type), `/vmui`: `302` to `/vmui/` (the page's
//!   relative asset links need the trailing slash); a query string moves into the fragment,
//!   so Prometheus links such as `/graph?g0.expr=up&g0.range_input=1h` open that query;
//! - `/vmui/`: the page (`index.html`);
//! - `/vmui/<asset>`: one embedded file, with its content type, a strong `ETag` (a hash of
//!   its bytes computed at compile time) and `Cache-Control: no-cache`, so browsers
//!   revalidate and get `304 Not Modified` until the binary changes.
//!
//! The UI's own pages (query, targets, rules, cardinality) live in the URL's fragment
//! (`/vmui/#/targets`), so no server route is taken from the API.

use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One embedded file.
struct Asset {
    /// Path under `/vmui/`.
    name: &'static str,
    /// `Content-Type` header value.
    content_type: &'static str,
    /// The file's bytes.
    body: &'static [u8],
    /// Quoted strong entity tag: the FNV-1a hash of `body`.
    etag: &'static str,
}

/// Declares an embedded asset from `examples/ui/<name>`, its entity tag computed by the
/// compiler.
macro_rules! asset {
    ($name:literal, $ct:expr) => {
        Asset {
            name: $name,
            content_type: $ct,
            body: include_bytes!(concat!("../ui/", $name)),
            etag: {
                const HEX: [u8; 18] = etag_of(include_bytes!(concat!("../ui/", $name)));
                match std::str::from_utf8(&HEX) {
                    Ok(s) => s,
                    Err(_) => panic!("BUG: etag is ASCII"),
                }
            },
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the UI.
static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("url.js", JS),
    asset!("time.js", JS),
    asset!("dom.js", JS),
    asset!("query.js", JS),
    asset!("editor.js", JS),
    asset!("promql_words.js", JS),
    asset!("graph.js", JS),
    asset!("graph_axes.js", JS),
    asset!("graph_draw.js", JS),
    asset!("table.js", JS),
    asset!("json.js", JS),
    asset!("targets.js", JS),
    asset!("rules.js", JS),
    asset!("cardinality.js", JS),
];

/// `"` + 16 hex digits of the 64-bit FNV-1a hash of `bytes` + `"`.
const fn etag_of(bytes: &[u8]) -> [u8; 18] {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    let digits = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut d = 0;
    while d < 16 {
        out[1 + d] = digits[((h >> (60 - 4 * d)) & 0xf) as usize];
        d += 1;
    }
    out
}

/// The routes of the UI; merge into the server's router (they take no API path).
pub fn router() -> Router {
    Router::new()
        .route("/", get(to_vmui))
        .route("/graph", get(to_vmui))
        .route("/vmui", get(to_vmui))
        .route("/vmui/", get(index))
        .route("/vmui/{*path}", get(file))
}

async fn to_vmui(RawQuery(query): RawQuery) -> Response {
    let location = match query.filter(|q| !q.is_empty()) {
        // The query comes from the request line, so it is a valid header value; keep the
        // plain redirect if it is somehow not.
        Some(q) => HeaderValue::from_str(&format!("/vmui/#/?{q}"))
            .unwrap_or(HeaderValue::from_static("/vmui/")),
        None => HeaderValue::from_static("/vmui/"),
    };
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn file(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&path, &headers)
}

/// The asset named `name`, `304` when the client's `If-None-Match` holds its tag, `404`
/// when there is no such asset.
fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(a) = ASSETS.iter().find(|a| a.name == name) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("no such UI file: /vmui/{name}\n"),
        )
            .into_response();
    };
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == a.etag || t.trim() == "*");
    let status = if fresh {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    };
    let mut resp = if fresh {
        status.into_response()
    } else {
        (status, a.body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::ETAG, HeaderValue::from_static(a.etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_is_quoted_hex_of_fnv1a() {
        // FNV-1a of the empty input is the offset basis; of "a" a published test vector.
        assert_eq!(&etag_of(b""), b"\"cbf29ce484222325\"");
        assert_eq!(&etag_of(b"a"), b"\"af63dc4c8601ec8c\"");
    }

    #[test]
    fn every_asset_is_served_with_its_type() {
        let none = HeaderMap::new();
        for a in ASSETS {
            let r = serve(a.name, &none);
            assert_eq!(r.status(), StatusCode::OK, "{}", a.name);
            assert_eq!(r.headers()[header::CONTENT_TYPE], a.content_type);
            assert!(!a.body.is_empty(), "{} is empty", a.name);
        }
    }

    #[test]
    fn matching_tag_gives_304_and_unknown_name_404() {
        let a = &ASSETS[0];
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"x\", {}", a.etag)).unwrap(),
        );
        assert_eq!(serve(a.name, &h).status(), StatusCode::NOT_MODIFIED);
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"x\""));
        assert_eq!(serve(a.name, &h).status(), StatusCode::OK);
        assert_eq!(serve("../Cargo.toml", &h).status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn every_file_of_the_ui_folder_is_embedded() {
        // A file added to examples/ui/ but not to ASSETS would be a 404 in the browser.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.name.to_owned()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn every_module_import_names_an_embedded_file() {
        // A module the browser cannot load breaks the whole page: pin the import graph.
        for a in ASSETS.iter().filter(|a| a.name.ends_with(".js")) {
            let text = std::str::from_utf8(a.body).unwrap();
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let target = line
                    .rsplit("from ")
                    .next()
                    .and_then(|s| s.trim().trim_end_matches(';').strip_prefix("'./"))
                    .and_then(|s| s.strip_suffix('\''))
                    .unwrap_or_else(|| panic!("{}: unexpected import: {line}", a.name));
                assert!(
                    ASSETS.iter().any(|b| b.name == target),
                    "{} imports {target}, which is not embedded",
                    a.name
                );
            }
        }
    }
}
