//! Reports what each request cost the storage backend: on the aws backend, the number of
//! DynamoDB requests (SPEC §7 allows 3 per page view, and no Scan). The count is logged and
//! sent in a `Server-Timing` header, where browser developer tools and tests can read it.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::storage::aws::metering;

pub async fn count_storage_requests(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let (mut response, tally) = metering::scope(next.run(request)).await;
    let (requests, scans) = (tally.requests(), tally.scans());
    if requests > 0 {
        let operations = tally.operations();
        tracing::info!(%method, %path, dynamodb_requests = requests, dynamodb_scans = scans, %operations, "storage cost");
        let timing = format!("dynamodb;desc=\"requests={requests} scans={scans} operations={operations}\"");
        if let Ok(value) = HeaderValue::from_str(&timing) {
            response.headers_mut().append("server-timing", value);
        }
    }
    response
}
