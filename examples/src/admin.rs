//! Administrative endpoints over the storage engine, with VictoriaMetrics' paths, status
//! codes and bodies: series deletion, snapshots, forced flush and merge, health checks.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gnomon_promql::http::{ApiError, Params, blocking, write_json_string, write_list};
use gnomon_tsdb_core::{Error, Storage};

/// A router serving `/api/v1/admin/tsdb/delete_series`, `/snapshot/*`,
/// `/internal/force_flush`, `/internal/force_merge`, `/health`, `/-/healthy` and
/// `/-/ready` over `storage`.
pub fn router(storage: Storage) -> Router {
    Router::new()
        .route(
            "/api/v1/admin/tsdb/delete_series",
            get(delete_series).post(delete_series),
        )
        .route(
            "/snapshot/create",
            get(snapshot_create).post(snapshot_create),
        )
        .route("/snapshot/list", get(snapshot_list).post(snapshot_list))
        .route(
            "/snapshot/delete",
            get(snapshot_delete).post(snapshot_delete),
        )
        .route(
            "/snapshot/delete_all",
            get(snapshot_delete_all).post(snapshot_delete_all),
        )
        .route("/internal/force_flush", get(force_flush).post(force_flush))
        .route("/internal/force_merge", get(force_merge).post(force_merge))
        .route("/health", get(|| async { text(StatusCode::OK, "OK") }))
        .route(
            "/-/healthy",
            get(|| async { text(StatusCode::OK, "Gnomon is Healthy.\n") }),
        )
        .route(
            "/-/ready",
            get(|| async { text(StatusCode::OK, "Gnomon is Ready.\n") }),
        )
        .with_state(storage)
}

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn json(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// VictoriaMetrics' snapshot error body: `{"status":"error","msg":"..."}`; 404 when the
/// snapshot does not exist, 500 otherwise.
fn snapshot_error(e: &Error) -> Response {
    let status = match e {
        Error::SnapshotNotFound { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    log::error!("snapshot request failed: {e}");
    let mut body = String::from(r#"{"status":"error","msg":"#);
    write_json_string(&mut body, &e.to_string());
    body.push('}');
    json(status, body)
}

async fn run<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<Result<T, Error>, ApiError> {
    blocking(move || Ok(work())).await
}

async fn delete_series(
    State(storage): State<Storage>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &body);
    let selectors = params.required_matchers()?;
    let deleted = blocking(move || {
        let mut n = 0;
        for m in &selectors {
            n += storage.delete_series(m)?;
        }
        Ok(n)
    })
    .await?;
    log::info!("deleted {deleted} series");
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn snapshot_create(State(storage): State<Storage>) -> Result<Response, ApiError> {
    Ok(match run(move || storage.create_snapshot()).await? {
        Ok(name) => {
            let mut body = String::from(r#"{"status":"ok","snapshot":"#);
            write_json_string(&mut body, &name);
            body.push('}');
            json(StatusCode::OK, body)
        }
        Err(e) => snapshot_error(&e),
    })
}

async fn snapshot_list(State(storage): State<Storage>) -> Result<Response, ApiError> {
    Ok(match run(move || storage.list_snapshots()).await? {
        Ok(names) => {
            let mut body = String::from(r#"{"status":"ok","snapshots":"#);
            write_list(&mut body, &names, |out, n| write_json_string(out, n));
            body.push('}');
            json(StatusCode::OK, body)
        }
        Err(e) => snapshot_error(&e),
    })
}

async fn snapshot_delete(
    State(storage): State<Storage>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), &body);
    let Some(name) = params
        .get("snapshot")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
    else {
        return Err(ApiError::bad_data("missing `snapshot` arg"));
    };
    Ok(match run(move || storage.delete_snapshot(&name)).await? {
        Ok(()) => json(StatusCode::OK, r#"{"status":"ok"}"#.into()),
        Err(e) => snapshot_error(&e),
    })
}

async fn snapshot_delete_all(State(storage): State<Storage>) -> Result<Response, ApiError> {
    Ok(match run(move || storage.delete_all_snapshots()).await? {
        Ok(()) => json(StatusCode::OK, r#"{"status":"ok"}"#.into()),
        Err(e) => snapshot_error(&e),
    })
}

async fn force_flush(State(storage): State<Storage>) -> Result<Response, ApiError> {
    blocking(move || Ok(storage.force_flush()?)).await?;
    Ok(StatusCode::OK.into_response())
}

async fn force_merge(
    State(storage): State<Storage>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref(), b"");
    let prefix = params.get("partition_prefix").unwrap_or("").to_owned();
    // VictoriaMetrics answers at once and merges in the background.
    tokio::task::spawn_blocking(move || {
        if let Err(e) = storage.force_merge(&prefix) {
            log::error!("forced merge of partitions {prefix:?} failed: {e}");
        }
    });
    Ok(StatusCode::OK.into_response())
}
