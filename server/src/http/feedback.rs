//! DevPortal v3 REST: ratings (`/apis/{apiId}/ratings`, `/apis/{apiId}/user-rating`) and
//! comments with replies (`/apis/{apiId}/comments…`), WSO2's paths, parameters and fields.

use app::feedback::{Comment, CommentBody, CommentList, Rating, RatingList};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::caller::Caller;
use super::devportal::catalogue;
use super::rest::DEVPORTAL;
use crate::AppState;
use crate::error::{ApiError, AppJson};
use crate::feedback::Feedback;

pub fn router() -> Router<AppState> {
    let p = |path: &str| format!("{DEVPORTAL}/apis/{{api_id}}{path}");
    Router::new()
        .route(&p("/ratings"), get(ratings))
        .route(
            &p("/user-rating"),
            get(user_rating).put(rate).delete(unrate),
        )
        .route(&p("/comments"), get(comments).post(post))
        .route(
            &p("/comments/{comment_id}"),
            get(comment).patch(edit).delete(delete),
        )
        .route(&p("/comments/{comment_id}/replies"), get(replies))
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PageQuery {
    limit: Option<i64>,
    offset: Option<i64>,
    include_commenter_info: Option<bool>,
    reply_limit: Option<i64>,
    reply_offset: Option<i64>,
    reply_to: Option<String>,
}

async fn ratings(
    State(s): State<AppState>,
    visitor: Option<Caller>,
    Path(api): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<RatingList>, ApiError> {
    let c = catalogue(&s);
    let f = Feedback { catalogue: &c };
    Ok(Json(
        f.ratings(
            visitor.as_ref(),
            &api,
            q.offset.unwrap_or(0),
            q.limit.unwrap_or(25),
        )
        .await?,
    ))
}

async fn user_rating(
    State(s): State<AppState>,
    caller: Caller,
    Path(api): Path<String>,
) -> Result<Json<Rating>, ApiError> {
    let c = catalogue(&s);
    Ok(Json(
        Feedback { catalogue: &c }
            .user_rating(&caller, &api)
            .await?,
    ))
}

async fn rate(
    State(s): State<AppState>,
    caller: Caller,
    Path(api): Path<String>,
    AppJson(body): AppJson<Rating>,
) -> Result<Json<Rating>, ApiError> {
    let c = catalogue(&s);
    Ok(Json(
        Feedback { catalogue: &c }
            .rate(&caller, &api, body.rating)
            .await?,
    ))
}

async fn unrate(
    State(s): State<AppState>,
    caller: Caller,
    Path(api): Path<String>,
) -> Result<StatusCode, ApiError> {
    let c = catalogue(&s);
    Feedback { catalogue: &c }.unrate(&caller, &api).await?;
    Ok(StatusCode::OK)
}

async fn comments(
    State(s): State<AppState>,
    visitor: Option<Caller>,
    Path(api): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Json<CommentList>, ApiError> {
    let c = catalogue(&s);
    Ok(Json(
        Feedback { catalogue: &c }
            .comments(
                visitor.as_ref(),
                &api,
                q.offset.unwrap_or(0),
                q.limit.unwrap_or(25),
                q.include_commenter_info.unwrap_or(false),
            )
            .await?,
    ))
}

async fn post(
    State(s): State<AppState>,
    caller: Caller,
    Path(api): Path<String>,
    Query(q): Query<PageQuery>,
    AppJson(body): AppJson<CommentBody>,
) -> Result<Response, ApiError> {
    let c = catalogue(&s);
    let comment = Feedback { catalogue: &c }
        .post(&caller, &api, q.reply_to.as_deref(), &body)
        .await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("{DEVPORTAL}/apis/{api}/comments/{}", comment.id),
        )],
        Json(comment),
    )
        .into_response())
}

async fn comment(
    State(s): State<AppState>,
    visitor: Option<Caller>,
    Path((api, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Comment>, ApiError> {
    let c = catalogue(&s);
    Ok(Json(
        Feedback { catalogue: &c }
            .comment(
                visitor.as_ref(),
                &api,
                &id,
                q.reply_offset.unwrap_or(0),
                q.reply_limit.unwrap_or(25),
                q.include_commenter_info.unwrap_or(false),
            )
            .await?,
    ))
}

async fn replies(
    State(s): State<AppState>,
    visitor: Option<Caller>,
    Path((api, id)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
) -> Result<Json<CommentList>, ApiError> {
    let c = catalogue(&s);
    Ok(Json(
        Feedback { catalogue: &c }
            .replies(
                visitor.as_ref(),
                &api,
                &id,
                q.offset.unwrap_or(0),
                q.limit.unwrap_or(25),
                q.include_commenter_info.unwrap_or(false),
            )
            .await?,
    ))
}

async fn edit(
    State(s): State<AppState>,
    caller: Caller,
    Path((api, id)): Path<(String, String)>,
    AppJson(body): AppJson<CommentBody>,
) -> Result<Json<Comment>, ApiError> {
    let c = catalogue(&s);
    Ok(Json(
        Feedback { catalogue: &c }
            .edit(&caller, &api, &id, &body)
            .await?,
    ))
}

async fn delete(
    State(s): State<AppState>,
    caller: Caller,
    Path((api, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let c = catalogue(&s);
    Feedback { catalogue: &c }
        .delete(&caller, &api, &id)
        .await?;
    Ok(StatusCode::OK)
}
