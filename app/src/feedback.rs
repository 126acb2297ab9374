//! Ratings and comments on an API: the types of the DevPortal v3 REST API (`/apis/{apiId}/ratings`,
//! `/user-rating`, `/comments`, WSO2's field names), shared with the API page.

use serde::{Deserialize, Serialize};

use crate::publisher::Pagination;

/// Longest comment (WSO2's limit).
pub const MAX_COMMENT_CHARS: usize = 512;

/// WSO2's `Rating`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Rating {
    pub rating_id: Option<String>,
    pub api_id: Option<String>,
    pub rated_by: Option<String>,
    /// 1 to 5.
    pub rating: i64,
}

/// WSO2's `RatingList`: the average, the caller's own rating, and a page of ratings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RatingList {
    /// One decimal ("4.5"), "0" when nobody rated.
    pub avg_rating: String,
    pub user_rating: Option<i64>,
    pub count: usize,
    pub list: Vec<Rating>,
    pub pagination: Pagination,
}

/// WSO2's `CommenterInfo`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CommenterInfo {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
}

/// WSO2's `Comment`; a top-level comment carries a page of its replies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Comment {
    pub id: String,
    pub content: String,
    pub created_time: String,
    pub created_by: String,
    pub updated_time: Option<String>,
    pub category: String,
    pub parent_comment_id: Option<String>,
    /// `devPortal` or `publisher`.
    pub entry_point: String,
    pub commenter_info: Option<CommenterInfo>,
    pub replies: Option<CommentList>,
}

/// WSO2's `CommentList`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CommentList {
    pub count: usize,
    pub list: Vec<Comment>,
    pub pagination: Pagination,
}

/// The body of `POST /comments` and `PATCH /comments/{id}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CommentBody {
    pub content: Option<String>,
    pub category: Option<String>,
}

/// What the API page asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedbackCall {
    Ratings {
        api_id: String,
    },
    Rate {
        api_id: String,
        rating: i64,
    },
    Unrate {
        api_id: String,
    },
    Comments {
        api_id: String,
        offset: i64,
        limit: i64,
    },
    Post {
        api_id: String,
        reply_to: Option<String>,
        content: String,
    },
    Edit {
        api_id: String,
        comment_id: String,
        content: String,
    },
    Delete {
        api_id: String,
        comment_id: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedbackReply {
    Ratings(RatingList),
    Comments(CommentList),
    Comment(Box<Comment>),
    Done,
}

/// "★★★★☆" for an average like "4.2".
pub fn stars(avg: &str) -> String {
    let n = avg.parse::<f64>().unwrap_or(0.0).round().clamp(0.0, 5.0) as usize;
    format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
}

#[cfg(test)]
mod tests {
    use super::stars;

    #[test]
    fn stars_round_the_average() {
        assert_eq!(stars("0"), "☆☆☆☆☆");
        assert_eq!(stars("4.5"), "★★★★★");
        assert_eq!(stars("3.4"), "★★★☆☆");
        assert_eq!(stars("not a number"), "☆☆☆☆☆");
    }
}
