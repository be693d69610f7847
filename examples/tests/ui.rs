//! The web UI's routes on the real binary, without a browser: redirects, content types,
//! entity tags, and that the API routes are not shadowed by `/`.

mod common;

use common::{Server, data_dir, tempdir};

#[test]
fn root_graph_and_vmui_redirect_to_vmui_slash() {
    let dir = tempdir();
    let srv = Server::start(&data_dir(&dir), &[]);
    for path in ["/", "/graph", "/vmui"] {
        let r = srv.get(path);
        assert_eq!(r.status, 302, "{path}");
        assert_eq!(r.header("location"), Some("/vmui/"), "{path}");
    }
    // Prometheus' links keep their query, in the fragment the UI reads.
    let r = srv.get("/graph?g0.expr=up&g0.range_input=6h&g0.tab=1");
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("/vmui/#/?g0.expr=up&g0.range_input=6h&g0.tab=1")
    );
}

#[test]
fn page_and_assets_have_their_content_types() {
    let dir = tempdir();
    let srv = Server::start(&data_dir(&dir), &[]);
    let page = srv.get("/vmui/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    assert!(
        html.contains(r#"<script type="module" src="app.js">"#),
        "{html}"
    );
    assert_eq!(srv.get("/vmui/index.html").body, page.body);
    for (path, ct) in [
        ("/vmui/app.js", "text/javascript; charset=utf-8"),
        ("/vmui/graph.js", "text/javascript; charset=utf-8"),
        ("/vmui/style.css", "text/css; charset=utf-8"),
        ("/vmui/favicon.svg", "image/svg+xml"),
    ] {
        let r = srv.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ct), "{path}");
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        assert!(!r.body.is_empty(), "{path}");
    }
    let missing = srv.get("/vmui/nope.js");
    assert_eq!(missing.status, 404);
    assert!(
        missing.text().contains("/vmui/nope.js"),
        "{}",
        missing.text()
    );
}

#[test]
fn etag_revalidation_gives_304() {
    let dir = tempdir();
    let srv = Server::start(&data_dir(&dir), &[]);
    let first = srv.get("/vmui/app.js");
    let tag = first.header("etag").expect("etag").to_owned();
    assert!(
        tag.starts_with('"') && tag.ends_with('"') && tag.len() == 18,
        "{tag}"
    );
    let again = srv
        .request("GET", "/vmui/app.js", &[("If-None-Match", &tag)], b"")
        .expect("GET");
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let other = srv
        .request("GET", "/vmui/app.js", &[("If-None-Match", "\"0\"")], b"")
        .expect("GET");
    assert_eq!(other.status, 200);
    assert_eq!(other.body, first.body);
}

#[test]
fn api_routes_still_answer_beside_the_ui() {
    let dir = tempdir();
    let srv = Server::start(&data_dir(&dir), &[]);
    let r = srv.get("/api/v1/query?query=sum(");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["status"], "error");
    let r = srv.get("/api/v1/labels");
    assert_eq!(r.status, 200);
    assert_eq!(srv.get("/health").status, 200);
    assert_eq!(srv.get("/no/such/route").status, 404);
}

#[test]
fn basic_auth_covers_the_ui() {
    let dir = tempdir();
    let srv = Server::start(
        &data_dir(&dir),
        &["-httpAuth.username=u", "-httpAuth.password=p"],
    );
    assert_eq!(srv.get("/vmui/").status, 401);
    // "u:p" in base64.
    let r = srv
        .request("GET", "/vmui/", &[("Authorization", "Basic dTpw")], b"")
        .expect("GET");
    assert_eq!(r.status, 200);
}
