//! Errors as a client sees them: an HTTP status and an OGC API exception (RFC 7807 shape, `ogcapi-types`'
//! `Exception`) naming the parameter at fault. An internal error says only that it happened and which
//! request it was: its detail (paths, SQL) goes to the server's log, never to the client.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use ogcapi_types::common::Exception;

/// A request the server cannot answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    /// The parameter (or path segment) at fault.
    parameter: String,
    detail: String,
}

impl ApiError {
    /// An error with `status` about `parameter`.
    pub fn new(status: StatusCode, parameter: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError { status, parameter: parameter.into(), detail: detail.into() }
    }

    /// A malformed parameter (400).
    pub fn bad(parameter: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, parameter, detail)
    }

    /// Something that does not exist (404).
    pub fn not_found(parameter: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, parameter, detail)
    }

    /// The server's own failure (500): `detail` is logged, the client is told only that it happened.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(detail = %detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "",
            "the server failed to answer this request; the failure is in its log",
        )
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What went wrong, as the client is told.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> ApiError {
        match e {
            // a registry locked past the wait: the client may try again
            crate::Error::Registry { ref reason, .. } if reason.contains("is locked") => {
                tracing::warn!(detail = %e, "registry busy");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "", "the registry is busy; try again")
            }
            e => ApiError::internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut ex = Exception::new_from_status(self.status.as_u16())
            .title(self.status.canonical_reason().unwrap_or("error"))
            .detail(&self.detail);
        if !self.parameter.is_empty() {
            ex.additional_properties.insert("parameter".into(), self.parameter.clone().into());
        }
        let body = serde_json::to_vec(&ex).unwrap_or_default();
        (self.status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response()
    }
}

/// A request's text cut short for an error message.
pub fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(120).filter(|c| !c.is_control()).collect();
    if s.chars().count() > 120 {
        out.push('…');
    }
    out
}
