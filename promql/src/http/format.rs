//! `/api/v1/format_query`: the query in canonical form, as Prometheus' endpoint of that
//! name answers (`{"status":"success","data":"sum by (job) (x)"}`).
//!
//! The text comes from the canonical printer ([`crate::parser::printer`]), which differs
//! from Prometheus' `Pretty(0)` in places: no line breaking of long queries, `on(l)` /
//! `group_left(l)` without a space before the list, `@ 123` instead of `@ 123.000`, only
//! the parentheses precedence needs, numbers in shortest form (`1e300`, `Inf`).

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::Response;

use super::json::write_json_string;
use super::{ApiError, Params, json_response};
use crate::parser::ast::Expr;

/// Parses the `query` parameter (MetricsQL extensions accepted, as everywhere on this
/// server); a missing parameter is the empty query.
///
/// # Errors
/// [`ApiError::bad_data`] with Prometheus' wording:
/// `invalid parameter "query": 1:5: parse error: <what>`.
pub(super) fn parse_query_param(params: &Params) -> Result<Expr, ApiError> {
    let text = params.get("query").unwrap_or("");
    crate::parse(text).map_err(|e| {
        let what = match e.as_parse() {
            Some(p) => {
                let (line, col) = p.line_col();
                format!("{line}:{col}: parse error: {}", p.kind)
            }
            None => e.to_string(),
        };
        ApiError::bad_data(format!("invalid parameter \"query\": {what}"))
    })
}

pub(super) async fn handle(RawQuery(query): RawQuery, body: Bytes) -> Result<Response, ApiError> {
    let expr = parse_query_param(&Params::parse(query.as_deref(), &body))?;
    let mut out = String::from(r#"{"status":"success","data":"#);
    write_json_string(&mut out, &expr.to_string());
    out.push('}');
    Ok(json_response(StatusCode::OK, out))
}
