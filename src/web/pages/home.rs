use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::layout::{PageContext, render};

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageContext,
}

#[tracing::instrument(skip_all)]
async fn home(page: PageContext) -> Result<Response, AppError> {
    render(&HomePage { page })
}
