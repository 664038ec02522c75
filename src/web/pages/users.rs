//! Portfolios: a creator's memes, their subscribers, the subscribe button and the Atom feed.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

use crate::domain::{User, Username};
use crate::services::{browse, subscriptions};
use crate::storage::{PageRequest, Portfolio, Profile};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::flash;
use crate::web::forms::{CsrfForm, NoFields};
use crate::web::layout::{FRAGMENT_SLOT, PageContext, render_around, render_fragment};
use crate::web::page_cache::FragmentContent;
use crate::web::session::{RequireUser, RequireVerified};
use crate::web::views::{MemeCard, ShareImage, ShareMeta, iso};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/u/{username}", get(portfolio))
        .route("/u/{username}/subscribe", post(subscribe))
        .route("/u/{username}/unsubscribe", post(unsubscribe))
        .route("/u/{username}/feed.atom", get(feed))
}

pub async fn load_user(state: &AppState, username: &str) -> Result<User, AppError> {
    Ok(subscriptions::creator(state.services(), username).await?)
}

#[derive(Template)]
#[template(path = "users/portfolio.html")]
struct PortfolioPage {
    page: PageContext,
    username: String,
    member_since: String,
    subscribers: u64,
    is_self: bool,
    subscribed: bool,
    /// `FRAGMENT_SLOT`, where the memes go.
    memes: &'static str,
    share: ShareMeta,
}

/// The memes of a portfolio: the same for every visitor (the creator's own view aside, whose
/// empty state asks them to make one), so they are kept until the next write.
#[derive(Template)]
#[template(path = "_portfolio_memes.html")]
struct PortfolioMemes {
    username: String,
    is_self: bool,
    memes: Vec<MemeCard>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct CursorQuery {
    cursor: Option<String>,
}

#[tracing::instrument(level = "debug", skip_all, fields(username = %username))]
async fn portfolio(
    State(state): State<AppState>,
    page: PageContext,
    Path(username): Path<String>,
    Query(q): Query<CursorQuery>,
) -> Result<Response, AppError> {
    let name = Username::parse(&username).map_err(|_| AppError::NotFound)?;
    let after = state.cursors.verify_opt(q.cursor.as_deref())?;
    let viewer = page.user.as_ref().map(|u| u.id);
    let is_self = page.user.as_ref().is_some_and(|u| u.username == name);
    let key = format!("portfolio/{name}?self={is_self}&cursor={}", q.cursor.as_deref().unwrap_or(""));
    // When the memes are made now, the same read brings the profile.
    let mut read_with_memes = None;
    let memes = state
        .page_cache
        .fragment(key, || async {
            let request = PageRequest::after(after, super::home::PAGE_SIZE);
            let Portfolio { profile, memes } =
                browse::portfolio(state.services(), name.as_str(), viewer, request).await?;
            read_with_memes = Some(profile);
            let cards = MemeCard::cards(&state, &memes.items);
            let lead = cards.first().map(|newest| ShareImage {
                url: state.absolute_url(&newest.display_url),
                width: newest.display_width,
                height: newest.display_height,
                alt: newest.alt.clone(),
            });
            let html = render_fragment(&PortfolioMemes {
                username: name.to_string(),
                is_self,
                memes: cards,
                next: memes.next.map(|c| state.cursors.sign(&c)),
            })?;
            Ok::<_, AppError>(FragmentContent { html, lead })
        })
        .await?;
    let Profile { creator, subscribers, viewer_subscribed } = match read_with_memes {
        Some(profile) => profile,
        None => browse::profile(state.services(), name.as_str(), viewer).await?,
    };
    let share = ShareMeta {
        title: format!("{} on Sky-High Memes", creator.username),
        description: format!("Memes by {}, {subscribers} subscribers.", creator.username),
        url: state.absolute_url(&format!("/u/{}", creator.username)),
        image: memes.lead().cloned(),
    };
    render_around(
        &PortfolioPage {
            share,
            username: creator.username.to_string(),
            member_since: creator.created_at.date().to_string(),
            subscribers,
            is_self,
            subscribed: viewer_subscribed,
            memes: FRAGMENT_SLOT,
            page,
        },
        memes,
    )
}

async fn subscribe(
    State(state): State<AppState>,
    RequireVerified(user): RequireVerified,
    session: Session,
    Path(username): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let creator = subscriptions::subscribe(state.services(), &user.actor(), &username).await?;
    flash::say(&session, format!("You follow {} now: each new meme of theirs reaches you by email.", creator.username))
        .await?;
    Ok(Redirect::to(&format!("/u/{}", creator.username)).into_response())
}

async fn unsubscribe(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
    session: Session,
    Path(username): Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<Response, AppError> {
    let creator = subscriptions::unsubscribe(state.services(), &user.actor(), &username).await?;
    flash::say(&session, format!("You no longer follow {}.", creator.username)).await?;
    Ok(Redirect::to(&format!("/u/{}", creator.username)).into_response())
}

struct FeedEntry {
    id: String,
    url: String,
    image_url: String,
    title: String,
    /// The entry's HTML, escaped once here as HTML; the template escapes it again as XML, so
    /// a reader that decodes the XML gets HTML in which the caption is only text.
    content_html: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "users/feed.xml")]
struct Feed {
    base_url: String,
    username: String,
    updated: String,
    entries: Vec<FeedEntry>,
}

/// The creator's 20 newest memes as an Atom feed.
async fn feed(State(state): State<AppState>, Path(username): Path<String>) -> Result<Response, AppError> {
    let creator = load_user(&state, &username).await?;
    let memes = state.storage.memes.list_by_creator(&creator, PageRequest::first(20)).await?;
    let base_url = state.config.base_url();
    let absolute = |url: String| if url.starts_with('/') { format!("{base_url}{url}") } else { url };
    let entries: Vec<FeedEntry> = memes
        .items
        .iter()
        .map(|m| {
            let image_url = absolute(state.media_url(&m.media.display_key));
            let title = xml_text(&m.alt_text());
            FeedEntry {
                id: format!("{base_url}/memes/{}", m.id),
                url: format!("{base_url}/memes/{}", m.id),
                content_html: format!("<img src=\"{}\" alt=\"{}\">", html_escape(&image_url), html_escape(&title)),
                image_url,
                title,
                updated: iso(m.created_at),
            }
        })
        .collect();
    let updated = memes.items.first().map(|m| iso(m.created_at)).unwrap_or_else(|| iso(creator.created_at));
    let body = Feed { base_url, username: creator.username.to_string(), updated, entries }
        .render()
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/atom+xml; charset=utf-8"))], body)
        .into_response())
}

/// Text without the characters XML 1.0 forbids (most C0 controls, U+FFFE, U+FFFF): captions
/// stored before the domain started removing them must not break the feed either.
fn xml_text(text: &str) -> String {
    text.chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..))
        .collect()
}

fn html_escape(text: &str) -> String {
    askama::filters::escape(text, askama::filters::Html).map(|escaped| escaped.to_string()).unwrap_or_default()
}
