//! `GET /metrics`, in Prometheus's text format, on its own listener (`SKYHIGH_METRICS_ADDR`):
//! the public router has no such route, so the site answers it 404 whatever the proxy in
//! front lets through. Levels are read now, once per scrape: slots in use, the outbox, the
//! caches' counts and the process's memory.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use super::AppState;
use crate::telemetry::metrics::{self, Levels};

#[derive(Clone)]
struct Scrape {
    app: AppState,
    handle: PrometheusHandle,
}

pub fn router(app: AppState, handle: PrometheusHandle) -> Router {
    Router::new().route("/metrics", get(scrape)).with_state(Scrape { app, handle })
}

async fn scrape(State(scrape): State<Scrape>) -> Response {
    let app = &scrape.app;
    let outbox = match app.storage.jobs.backlog().await {
        Ok(backlog) => Some((backlog.jobs, backlog.oldest_due)),
        Err(e) => {
            // The rest of the scrape is still worth having; the gauge keeps its last value.
            tracing::warn!(error = %e, "reading the delivery queue's backlog for metrics failed");
            None
        }
    };
    let mut caches = app.renderer.engine.cache_reports().to_vec();
    caches.push(app.url_cache.report());
    caches.extend(app.page_cache.reports());
    metrics::record_levels(&Levels {
        render_slots: app.renderer.slots(),
        password_slots: app.passwords.slots(),
        outbox,
        caches,
    });
    let mut response = scrape.handle.render().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    response
}
