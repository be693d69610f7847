//! The Prometheus API error envelope: `{"status":"error","errorType":...,"error":...}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An API error: the HTTP status, Prometheus' `errorType` and a message for humans.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct ApiError {
    /// HTTP status of the response.
    pub status: StatusCode,
    /// Prometheus' error type: `bad_data`, `execution`, `internal`, ...
    pub error_type: &'static str,
    /// What went wrong.
    pub message: String,
}

impl ApiError {
    /// A 400 `bad_data` error: a parameter is missing or malformed.
    pub fn bad_data(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            error_type: "bad_data",
            message: message.into(),
        }
    }

    /// A 500 `internal` error: the store failed.
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error_type: "internal",
            message: message.into(),
        }
    }

    /// The JSON body of the error.
    pub fn body(&self) -> String {
        let msg = serde_json::Value::String(self.message.clone());
        format!(
            r#"{{"status":"error","errorType":"{}","error":{msg}}}"#,
            self.error_type
        )
    }
}

impl From<gnomon_tsdb_core::Error> for ApiError {
    fn from(e: gnomon_tsdb_core::Error) -> Self {
        ApiError::internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, self.body())
    }
}

/// A JSON response with the headers VictoriaMetrics sends on its Prometheus API
/// (`Content-Type: application/json`, `Access-Control-Allow-Origin: *`).
pub fn json_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_escapes_the_message() {
        let e = ApiError::bad_data("bad \"x\"");
        assert_eq!(
            e.body(),
            r#"{"status":"error","errorType":"bad_data","error":"bad \"x\""}"#
        );
        assert_eq!(e.into_response().status(), StatusCode::BAD_REQUEST);
    }
}
