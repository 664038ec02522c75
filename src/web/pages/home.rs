use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::storage::{MemeOrder, PageRequest};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::layout::{FRAGMENT_SLOT, PageContext, render_around, render_fragment};
use crate::web::views::MemeCard;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

pub const PAGE_SIZE: usize = 24;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: PageContext,
    first_page: bool,
    /// `FRAGMENT_SLOT`, where the list goes.
    feed: &'static str,
}

/// The list itself, the same for every visitor: kept until the next write.
#[derive(Template)]
#[template(path = "_feed.html")]
struct Feed {
    top: bool,
    memes: Vec<MemeCard>,
    next: Option<String>,
    first_page: bool,
}

#[derive(Deserialize)]
struct HomeQuery {
    sort: Option<String>,
    cursor: Option<String>,
}

/// Newest memes (or the most commented with `?sort=top`), one keyset page at a time: the cost
/// of a page does not grow with the number of memes.
#[tracing::instrument(level = "debug", skip_all)]
async fn home(
    State(state): State<AppState>,
    page: PageContext,
    Query(q): Query<HomeQuery>,
) -> Result<Response, AppError> {
    let top = match q.sort.as_deref() {
        None | Some("" | "new") => false,
        Some("top") => true,
        Some(_) => return Err(AppError::BadRequest("Sort by \"new\" or \"top\".".into())),
    };
    let after = state.cursors.verify_opt(q.cursor.as_deref())?;
    let first_page = after.is_none();
    let order = if top { MemeOrder::Top } else { MemeOrder::New };
    let key = format!("home?top={top}&cursor={}", q.cursor.as_deref().unwrap_or(""));
    let feed = state
        .page_cache
        .fragment(key, || async {
            let memes = state.storage.memes.list(order, PageRequest::after(after, PAGE_SIZE)).await?;
            render_fragment(&Feed {
                top,
                memes: MemeCard::cards(&state, &memes.items),
                next: memes.next.map(|c| state.cursors.sign(&c)),
                first_page,
            })
        })
        .await?;
    render_around(&HomePage { page, first_page, feed: FRAGMENT_SLOT }, feed)
}
