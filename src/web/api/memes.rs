//! `/api/v1/memes`: the feed, making a meme (JSON, or multipart with an image), one meme, and
//! deleting one.

use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::Caller;
use super::schema::{
    CommentJson, ErrorBody, Links, MemeJson, MemeList, MemeWithCommentsJson, NewBox, NewMeme, NewMemeUpload,
    OnTemplate, RemixOf,
};
use super::{ApiJson, ApiQuery, json, page_limit};
use crate::domain::MemeId;
use crate::render::Layout;
use crate::services::browse;
use crate::services::memes::{self as meme_service, Made};
use crate::services::requests::{BoxRequest, Intent, MemeRequest, PictureChoice, Placement, colour};
use crate::storage::{MemeOrder, PageRequest};
use crate::web::AppState;
use crate::web::client_ip::ClientIp;
use crate::web::error::AppError;
use crate::web::meme_form::MemeForm;

/// The order of the feed.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Newest first.
    #[default]
    New,
    /// Most commented first.
    Top,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `new` (the default) or `top`.
    #[param(inline)]
    sort: Option<Sort>,
    /// How many memes, 1 to 100 (20 when absent).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next_cursor` of the page before.
    cursor: Option<String>,
}

/// The feed: memes newest (or most commented) first, each with its two newest comments.
#[utoipa::path(
    get, path = "/api/v1/memes", operation_id = "listMemes", tag = "memes", params(ListQuery),
    responses(
        (status = 200, description = "A page of memes", body = MemeList),
        (status = 400, description = "A bad limit, or a forged or stale cursor", body = ErrorBody),
        (status = "default", description = "An error", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    _: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, AppError> {
    let limit = page_limit(q.limit)?;
    let after = state.cursors.verify_opt(q.cursor.as_deref())?;
    let order = match q.sort.unwrap_or_default() {
        Sort::New => MemeOrder::New,
        Sort::Top => MemeOrder::Top,
    };
    let page = browse::feed(state.services(), order, PageRequest::after(after, limit)).await?;
    let links = Links::new(&state);
    let memes = page
        .items
        .iter()
        .map(|entry| MemeJson {
            latest_comments: Some(entry.latest_comments.iter().map(CommentJson::from).collect()),
            ..MemeJson::new(&links, &entry.meme)
        })
        .collect();
    Ok(json(StatusCode::OK, &MemeList { memes, next_cursor: page.next.map(|c| state.cursors.sign(&c)) }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// `false`: answer the image only, storing nothing (no credentials needed). Default `true`.
    save: Option<bool>,
}

/// Makes a meme: on a template or a remixed meme (JSON), or on an uploaded image (multipart, the
/// editor's fields). Saved, it answers 201 with the meme; with `?save=false`, the image.
#[utoipa::path(
    post, path = "/api/v1/memes", operation_id = "createMeme", tag = "memes", params(CreateQuery),
    request_body(content(
        (NewMeme = "application/json"),
        (NewMemeUpload = "multipart/form-data"),
    )),
    security((), ("token" = [])),
    responses(
        (status = 201, description = "The saved meme", body = MemeJson,
            headers(("Location" = String, description = "The meme in the API"))),
        (status = 200, description = "The image (`?save=false`)", content(("image/jpeg"), ("image/gif"))),
        (status = 401, description = "Saving needs a token", body = ErrorBody),
        (status = 415, description = "Neither JSON nor multipart", body = ErrorBody),
        (status = 422, description = "Something in it cannot be drawn", body = ErrorBody),
        (status = 429, description = "Too many changes or renders", body = ErrorBody),
        (status = "default", description = "An error", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    caller: Caller,
    ApiQuery(q): ApiQuery<CreateQuery>,
    request: Request,
) -> Result<Response, AppError> {
    let save = q.save.unwrap_or(true);
    // Credentials first: a save without them is refused before its body is read.
    let actor = if save { Some(caller.writer(&state, client).await?) } else { None };
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut meme_request = if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|_| AppError::BadRequest("The multipart body could not be read.".into()))?;
        MemeRequest::try_from(MemeForm::read(multipart, None, &state.config).await?)?
    } else if content_type.starts_with("application/json") {
        let ApiJson(body) = ApiJson::<NewMeme>::from_request(request, &state).await?;
        MemeRequest::try_from(body)?
    } else {
        return Err(AppError::UnsupportedMediaType(
            "Send application/json (a template or a meme to remix) or multipart/form-data (an image).".into(),
        ));
    };
    meme_request.intent = if save { Intent::Save { share_as_template: None } } else { Intent::Download };
    if !save {
        state
            .render_limit
            .attempt(client)
            .map_err(|t| AppError::RateLimited { retry_after: t.retry_after, what: "renders" })?;
    }
    match meme_service::make(state.services(), actor.as_ref(), meme_request).await? {
        Made::Saved(meme) => {
            let mut response = json(StatusCode::CREATED, &MemeJson::new(&Links::new(&state), &meme));
            let location = HeaderValue::from_str(&format!("/api/v1/memes/{}", meme.id))
                .map_err(|e| AppError::Internal(e.into()))?;
            response.headers_mut().insert(header::LOCATION, location);
            Ok(response)
        }
        Made::Image(image) => Ok((
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(image.mime)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            image.bytes,
        )
            .into_response()),
    }
}

impl TryFrom<NewMeme> for MemeRequest {
    type Error = AppError;

    fn try_from(body: NewMeme) -> Result<Self, AppError> {
        let bad = AppError::Unprocessable;
        let (picture, boxes, layout) = match body {
            NewMeme::OnTemplate(OnTemplate { template, boxes, layout }) => {
                (PictureChoice::Template(template), boxes, layout)
            }
            NewMeme::Remix(RemixOf { remix, boxes, layout }) => (
                PictureChoice::Remix(MemeId::parse(&remix).map_err(|_| bad(format!("{remix:?} is not a meme id.")))?),
                boxes,
                layout,
            ),
        };
        let boxes = boxes
            .into_iter()
            .enumerate()
            .map(|(i, b)| box_request(i + 1, b))
            .collect::<Result<Vec<_>, String>>()
            .map_err(bad)?;
        let layout = layout.map(|l| match l {
            super::schema::LayoutJson::Classic => Layout::Classic,
            super::schema::LayoutJson::Modern => Layout::Modern,
        });
        Ok(MemeRequest { picture, boxes, layout, intent: Intent::Download })
    }
}

fn box_request(number: usize, b: NewBox) -> Result<BoxRequest, String> {
    let colour = |c: Option<String>| {
        c.map(|c| colour(&c).ok_or(format!("Box {number}: {c:?} is not a colour like #ffffff."))).transpose()
    };
    let text = crate::domain::Caption::parse(&b.text).map_err(|e| format!("Box {number}: {e}"))?.into_string();
    let placement = match (b.x, b.y, b.w, b.h) {
        (None, None, None, None) => None,
        (x, y, w, h) => Some(Placement::new(x, y, w, h).map_err(|e| format!("Box {number}: {e}."))?),
    };
    Ok(BoxRequest { text, font: b.font.map(Into::into), fill: colour(b.fill)?, outline: colour(b.outline)?, placement })
}

/// One meme, with its first 20 comments.
#[utoipa::path(
    get, path = "/api/v1/memes/{id}", operation_id = "getMeme", tag = "memes",
    params(("id" = String, Path, description = "The meme's id")),
    responses(
        (status = 200, description = "The meme", body = MemeWithCommentsJson),
        (status = 404, description = "No such meme", body = ErrorBody),
        (status = "default", description = "An error", body = ErrorBody),
    )
)]
pub async fn show(State(state): State<AppState>, _: Caller, Path(id): Path<String>) -> Result<Response, AppError> {
    let id = MemeId::parse(&id).map_err(|_| AppError::NotFound)?;
    let (meme, comments) = browse::meme(state.services(), id, PageRequest::first(20)).await?;
    Ok(json(
        StatusCode::OK,
        &MemeWithCommentsJson {
            meme: MemeJson::new(&Links::new(&state), &meme),
            comments: comments.items.iter().map(CommentJson::from).collect(),
            more_comments: comments.next.is_some(),
        },
    ))
}

/// Deletes one of your memes (its images and comments go with it).
#[utoipa::path(
    delete, path = "/api/v1/memes/{id}", operation_id = "deleteMeme", tag = "memes",
    params(("id" = String, Path, description = "The meme's id")),
    security(("token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or bad credentials", body = ErrorBody),
        (status = 403, description = "Not your meme", body = ErrorBody),
        (status = 404, description = "No such meme", body = ErrorBody),
        (status = "default", description = "An error", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let actor = caller.writer(&state, client).await?;
    let id = MemeId::parse(&id).map_err(|_| AppError::NotFound)?;
    meme_service::delete(state.services(), &actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
