//! Ratings and comments on the APIs of the Developer Portal (DevPortal v3 `/apis/{apiId}/ratings`,
//! `/user-rating`, `/comments`). Anyone who may see an API in the catalogue reads them; signed-in
//! developers (`apim:subscribe`) rate once per API and comment; an author edits and deletes
//! their own comments, an admin deletes anyone's. Replies are one level deep, as in WSO2's UI.

use app::auth::scopes as s;
use app::feedback::{
    Comment, CommentBody, CommentList, CommenterInfo, MAX_COMMENT_CHARS, Rating, RatingList,
};
use app::publisher::Page;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::devportal::{Catalogue, Visitor};
use crate::error::ApiError;
use crate::publisher::{Actor, time};

/// Who may rate and comment (WSO2: `apim:subscribe`).
pub const WRITE_SCOPES: &[&str] = &[s::SUBSCRIBE];

/// Replies shipped with each top-level comment of a list.
const REPLIES_SHOWN: i64 = 20;

pub struct Feedback<'a> {
    pub catalogue: &'a Catalogue,
}

#[derive(sqlx::FromRow)]
struct CommentRow {
    id: Uuid,
    parent_id: Option<Uuid>,
    author_name: String,
    display_name: Option<String>,
    content: String,
    category: String,
    entry_point: String,
    created_at: DateTime<Utc>,
    updated_at: Option<DateTime<Utc>>,
}

const COMMENT_SELECT: &str = "SELECT c.id, c.parent_id, c.author_name, u.display_name, c.content, \
     c.category, c.entry_point, c.created_at, c.updated_at \
     FROM api_comment c LEFT JOIN app_user u ON u.id = c.author_id";

impl CommentRow {
    fn to_dto(&self, with_info: bool) -> Comment {
        Comment {
            id: self.id.to_string(),
            content: self.content.clone(),
            created_time: time(self.created_at),
            created_by: self.author_name.clone(),
            updated_time: self.updated_at.map(time),
            category: self.category.clone(),
            parent_comment_id: self.parent_id.map(|p| p.to_string()),
            entry_point: self.entry_point.clone(),
            commenter_info: with_info.then(|| CommenterInfo {
                full_name: self.display_name.clone(),
                ..Default::default()
            }),
            replies: None,
        }
    }
}

fn page_of<T>(list: Vec<T>, offset: i64, limit: i64, total: i64, path: &str) -> Page<T> {
    Page::new(list, offset, limit, total, |o| {
        format!("{path}?limit={limit}&offset={o}")
    })
}

fn content_of(body: &CommentBody) -> Result<String, ApiError> {
    let content = body
        .content
        .as_deref()
        .unwrap_or_default()
        .trim()
        .to_string();
    if content.is_empty() {
        return Err(ApiError::field("content", "write something"));
    }
    if content.chars().count() > MAX_COMMENT_CHARS {
        return Err(ApiError::field(
            "content",
            format!("at most {MAX_COMMENT_CHARS} characters"),
        ));
    }
    Ok(content)
}

fn category_of(body: &CommentBody) -> Result<String, ApiError> {
    let c = body
        .category
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or("general");
    if c.len() > 50
        || !c
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    {
        return Err(ApiError::field(
            "category",
            "letters, digits, - and _ (at most 50)",
        ));
    }
    Ok(c.to_string())
}

impl Feedback<'_> {
    fn db(&self) -> &sqlx::PgPool {
        &self.catalogue.db
    }

    async fn user_id(&self, actor: &Actor) -> Result<Uuid, ApiError> {
        sqlx::query_scalar(
            "SELECT u.id FROM app_user u JOIN organization o ON o.id = u.organization_id
              WHERE o.name = $1 AND u.username = $2",
        )
        .bind(&actor.organization)
        .bind(&actor.username)
        .fetch_optional(self.db())
        .await?
        .ok_or_else(|| ApiError::Forbidden("Only portal users rate and comment".into()))
    }

    /// `GET /apis/{id}/ratings`: the average, the visitor's own rating, a page of ratings.
    pub async fn ratings(
        &self,
        visitor: Visitor<'_>,
        api_id: &str,
        offset: i64,
        limit: i64,
    ) -> Result<RatingList, ApiError> {
        let api = self.catalogue.visible_api_id(visitor, api_id).await?;
        let (offset, limit) = (offset.max(0), limit.clamp(1, 200));
        let (total, avg): (i64, Option<f64>) = sqlx::query_as(
            "SELECT count(*), avg(rating)::float8 FROM api_rating WHERE api_id = $1",
        )
        .bind(api)
        .fetch_one(self.db())
        .await?;
        let rows: Vec<(Uuid, String, i16)> = sqlx::query_as(
            "SELECT r.id, u.username, r.rating FROM api_rating r JOIN app_user u ON u.id = r.user_id
              WHERE r.api_id = $1 ORDER BY r.updated_at DESC, r.id OFFSET $2 LIMIT $3",
        )
        .bind(api)
        .bind(offset)
        .bind(limit)
        .fetch_all(self.db())
        .await?;
        let user_rating = match visitor {
            Some(actor) => sqlx::query_scalar::<_, i16>(
                "SELECT r.rating FROM api_rating r JOIN app_user u ON u.id = r.user_id
                   JOIN organization o ON o.id = u.organization_id
                  WHERE r.api_id = $1 AND o.name = $2 AND u.username = $3",
            )
            .bind(api)
            .bind(&actor.organization)
            .bind(&actor.username)
            .fetch_optional(self.db())
            .await?
            .map(i64::from),
            None => None,
        };
        let list: Vec<Rating> = rows
            .into_iter()
            .map(|(id, by, rating)| Rating {
                rating_id: Some(id.to_string()),
                api_id: Some(api.to_string()),
                rated_by: Some(by),
                rating: rating.into(),
            })
            .collect();
        let page = page_of(list, offset, limit, total, &format!("/apis/{api}/ratings"));
        Ok(RatingList {
            avg_rating: format_avg(avg),
            user_rating,
            count: page.count,
            list: page.list,
            pagination: page.pagination,
        })
    }

    /// `GET /apis/{id}/user-rating`.
    pub async fn user_rating(&self, actor: &Actor, api_id: &str) -> Result<Rating, ApiError> {
        actor.require(WRITE_SCOPES)?;
        let api = self.catalogue.visible_api_id(Some(actor), api_id).await?;
        let user = self.user_id(actor).await?;
        let row: Option<(Uuid, i16)> =
            sqlx::query_as("SELECT id, rating FROM api_rating WHERE api_id = $1 AND user_id = $2")
                .bind(api)
                .bind(user)
                .fetch_optional(self.db())
                .await?;
        let (id, rating) =
            row.ok_or_else(|| ApiError::NotFound("You have not rated this API".into()))?;
        Ok(Rating {
            rating_id: Some(id.to_string()),
            api_id: Some(api.to_string()),
            rated_by: Some(actor.username.clone()),
            rating: rating.into(),
        })
    }

    /// `PUT /apis/{id}/user-rating`: sets (or replaces) the caller's rating.
    pub async fn rate(&self, actor: &Actor, api_id: &str, rating: i64) -> Result<Rating, ApiError> {
        actor.require(WRITE_SCOPES)?;
        if !(1..=5).contains(&rating) {
            return Err(ApiError::field("rating", "a whole number from 1 to 5"));
        }
        let api = self.catalogue.visible_api_id(Some(actor), api_id).await?;
        let user = self.user_id(actor).await?;
        let mut tx = self.db().begin().await?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO api_rating (api_id, user_id, rating) VALUES ($1, $2, $3)
             ON CONFLICT (api_id, user_id) DO UPDATE SET rating = $3, updated_at = now()
             RETURNING id",
        )
        .bind(api)
        .bind(user)
        .bind(rating as i16)
        .fetch_one(&mut *tx)
        .await?;
        crate::keymanager::audit(&mut tx, actor, "api.rate", "api", &api.to_string()).await?;
        tx.commit().await?;
        Ok(Rating {
            rating_id: Some(id.to_string()),
            api_id: Some(api.to_string()),
            rated_by: Some(actor.username.clone()),
            rating,
        })
    }

    /// `DELETE /apis/{id}/user-rating`.
    pub async fn unrate(&self, actor: &Actor, api_id: &str) -> Result<(), ApiError> {
        actor.require(WRITE_SCOPES)?;
        let api = self.catalogue.visible_api_id(Some(actor), api_id).await?;
        let user = self.user_id(actor).await?;
        sqlx::query("DELETE FROM api_rating WHERE api_id = $1 AND user_id = $2")
            .bind(api)
            .bind(user)
            .execute(self.db())
            .await?;
        Ok(())
    }

    /// `GET /apis/{id}/comments`: top-level comments, newest first, each with its first
    /// replies (oldest first).
    pub async fn comments(
        &self,
        visitor: Visitor<'_>,
        api_id: &str,
        offset: i64,
        limit: i64,
        with_info: bool,
    ) -> Result<CommentList, ApiError> {
        let api = self.catalogue.visible_api_id(visitor, api_id).await?;
        let (offset, limit) = (offset.max(0), limit.clamp(1, 200));
        let total: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM api_comment WHERE api_id = $1 AND parent_id IS NULL",
        )
        .bind(api)
        .fetch_one(self.db())
        .await?;
        let rows: Vec<CommentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{COMMENT_SELECT} WHERE c.api_id = $1 AND c.parent_id IS NULL
              ORDER BY c.created_at DESC, c.id OFFSET $2 LIMIT $3"
        )))
        .bind(api)
        .bind(offset)
        .bind(limit)
        .fetch_all(self.db())
        .await?;
        let mut list = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut c = row.to_dto(with_info);
            c.replies = Some(
                self.replies_of(api, row.id, 0, REPLIES_SHOWN, with_info)
                    .await?,
            );
            list.push(c);
        }
        let page = page_of(list, offset, limit, total, &format!("/apis/{api}/comments"));
        Ok(CommentList {
            count: page.count,
            list: page.list,
            pagination: page.pagination,
        })
    }

    async fn replies_of(
        &self,
        api: Uuid,
        parent: Uuid,
        offset: i64,
        limit: i64,
        with_info: bool,
    ) -> Result<CommentList, ApiError> {
        let total: i64 =
            sqlx::query_scalar("SELECT count(*) FROM api_comment WHERE parent_id = $1")
                .bind(parent)
                .fetch_one(self.db())
                .await?;
        let rows: Vec<CommentRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{COMMENT_SELECT} WHERE c.parent_id = $1 ORDER BY c.created_at, c.id OFFSET $2 LIMIT $3"
        )))
        .bind(parent)
        .bind(offset)
        .bind(limit)
        .fetch_all(self.db())
        .await?;
        let page = page_of(
            rows.iter().map(|r| r.to_dto(with_info)).collect(),
            offset,
            limit,
            total,
            &format!("/apis/{api}/comments/{parent}/replies"),
        );
        Ok(CommentList {
            count: page.count,
            list: page.list,
            pagination: page.pagination,
        })
    }

    async fn comment_row(&self, api: Uuid, comment_id: &str) -> Result<CommentRow, ApiError> {
        let id = Uuid::parse_str(comment_id.trim())
            .map_err(|_| ApiError::NotFound(format!("Comment {comment_id} not found")))?;
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{COMMENT_SELECT} WHERE c.id = $1 AND c.api_id = $2"
        )))
        .bind(id)
        .bind(api)
        .fetch_optional(self.db())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("Comment {comment_id} not found")))
    }

    /// `GET /apis/{id}/comments/{commentId}` with a page of its replies.
    pub async fn comment(
        &self,
        visitor: Visitor<'_>,
        api_id: &str,
        comment_id: &str,
        reply_offset: i64,
        reply_limit: i64,
        with_info: bool,
    ) -> Result<Comment, ApiError> {
        let api = self.catalogue.visible_api_id(visitor, api_id).await?;
        let row = self.comment_row(api, comment_id).await?;
        let mut c = row.to_dto(with_info);
        if row.parent_id.is_none() {
            c.replies = Some(
                self.replies_of(
                    api,
                    row.id,
                    reply_offset.max(0),
                    reply_limit.clamp(1, 200),
                    with_info,
                )
                .await?,
            );
        }
        Ok(c)
    }

    /// `GET /apis/{id}/comments/{commentId}/replies`.
    pub async fn replies(
        &self,
        visitor: Visitor<'_>,
        api_id: &str,
        comment_id: &str,
        offset: i64,
        limit: i64,
        with_info: bool,
    ) -> Result<CommentList, ApiError> {
        let api = self.catalogue.visible_api_id(visitor, api_id).await?;
        let row = self.comment_row(api, comment_id).await?;
        self.replies_of(api, row.id, offset.max(0), limit.clamp(1, 200), with_info)
            .await
    }

    /// `POST /apis/{id}/comments[?replyTo=…]`.
    pub async fn post(
        &self,
        actor: &Actor,
        api_id: &str,
        reply_to: Option<&str>,
        body: &CommentBody,
    ) -> Result<Comment, ApiError> {
        actor.require(WRITE_SCOPES)?;
        let content = content_of(body)?;
        let category = category_of(body)?;
        let api = self.catalogue.visible_api_id(Some(actor), api_id).await?;
        let parent = match reply_to.map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(r) => {
                let parent = self.comment_row(api, r).await.map_err(|_| {
                    ApiError::field("replyTo", format!("no comment {r} on this API"))
                })?;
                // Replies to a reply join the thread of its top-level comment.
                Some(parent.parent_id.unwrap_or(parent.id))
            }
        };
        let user = self.user_id(actor).await?;
        let mut tx = self.db().begin().await?;
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO api_comment (api_id, parent_id, author_id, author_name, content, category)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(api)
        .bind(parent)
        .bind(user)
        .bind(&actor.username)
        .bind(&content)
        .bind(&category)
        .fetch_one(&mut *tx)
        .await?;
        crate::keymanager::audit(&mut tx, actor, "comment.create", "comment", &id.to_string())
            .await?;
        tx.commit().await?;
        self.comment(Some(actor), api_id, &id.to_string(), 0, 20, true)
            .await
    }

    /// `PATCH /apis/{id}/comments/{commentId}`: the author changes the text or category.
    pub async fn edit(
        &self,
        actor: &Actor,
        api_id: &str,
        comment_id: &str,
        body: &CommentBody,
    ) -> Result<Comment, ApiError> {
        actor.require(WRITE_SCOPES)?;
        let api = self.catalogue.visible_api_id(Some(actor), api_id).await?;
        let row = self.comment_row(api, comment_id).await?;
        if row.author_name != actor.username {
            return Err(ApiError::Forbidden(
                "Only the author edits a comment".into(),
            ));
        }
        let content = match body.content {
            Some(_) => content_of(body)?,
            None => row.content.clone(),
        };
        let category = match body.category {
            Some(_) => category_of(body)?,
            None => row.category.clone(),
        };
        let mut tx = self.db().begin().await?;
        sqlx::query(
            "UPDATE api_comment SET content = $2, category = $3, updated_at = now() WHERE id = $1",
        )
        .bind(row.id)
        .bind(&content)
        .bind(&category)
        .execute(&mut *tx)
        .await?;
        crate::keymanager::audit(&mut tx, actor, "comment.update", "comment", comment_id).await?;
        tx.commit().await?;
        self.comment(Some(actor), api_id, comment_id, 0, 20, true)
            .await
    }

    /// `DELETE /apis/{id}/comments/{commentId}`: the author or an admin; replies go with it.
    pub async fn delete(
        &self,
        actor: &Actor,
        api_id: &str,
        comment_id: &str,
    ) -> Result<(), ApiError> {
        actor.require(&[s::SUBSCRIBE, s::ADMIN])?;
        let api = self.catalogue.visible_api_id(Some(actor), api_id).await?;
        let row = self.comment_row(api, comment_id).await?;
        if row.author_name != actor.username && !actor.is_admin() {
            return Err(ApiError::Forbidden(
                "Only the author or an admin deletes a comment".into(),
            ));
        }
        let mut tx = self.db().begin().await?;
        sqlx::query("DELETE FROM api_comment WHERE id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        crate::keymanager::audit(&mut tx, actor, "comment.delete", "comment", comment_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// "0" without ratings, otherwise one decimal without a trailing ".0" ("4", "4.5").
pub fn format_avg(avg: Option<f64>) -> String {
    match avg {
        None => "0".into(),
        Some(a) => {
            let s = format!("{:.1}", a);
            s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
        }
    }
}

/// Average ratings of the given APIs, for catalogue tiles.
pub async fn averages(
    db: &sqlx::PgPool,
    apis: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>, ApiError> {
    let rows: Vec<(Uuid, f64)> = sqlx::query_as(
        "SELECT api_id, avg(rating)::float8 FROM api_rating WHERE api_id = ANY($1) GROUP BY api_id",
    )
    .bind(apis)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, a)| (id, format_avg(Some(a))))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::format_avg;

    #[test]
    fn averages_read_like_wso2() {
        assert_eq!(format_avg(None), "0");
        assert_eq!(format_avg(Some(4.0)), "4");
        assert_eq!(format_avg(Some(4.5)), "4.5");
        assert_eq!(format_avg(Some(11.0 / 3.0)), "3.7");
    }
}
