//! Server-side portal sessions. The browser holds a random token in an HttpOnly cookie; the
//! database holds only its SHA-256, so a leaked table opens no session.

use axum::http::{HeaderMap, HeaderValue, header};
use sqlx::PgPool;
use uuid::Uuid;

use super::secrets;

pub const SESSION_COOKIE: &str = "gh_session";
pub const CSRF_COOKIE: &str = "gh_csrf";

/// Creates a session for `user_id`; returns the token for the cookie.
pub async fn create(
    db: &PgPool,
    user_id: Uuid,
    ttl_minutes: i64,
    user_agent: Option<&str>,
) -> sqlx::Result<String> {
    let token = secrets::random_token(32);
    sqlx::query(
        "INSERT INTO session (token_hash, user_id, user_agent, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(mins => $4))",
    )
    .bind(secrets::sha256(&token))
    .bind(user_id)
    .bind(user_agent.map(|ua| ua.chars().take(256).collect::<String>()))
    .bind(ttl_minutes as i32)
    .execute(db)
    .await?;
    Ok(token)
}

/// The live session's user id, if the token names one.
pub async fn user_of(db: &PgPool, token: &str) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT user_id FROM session WHERE token_hash = $1 AND expires_at > now()")
        .bind(secrets::sha256(token))
        .fetch_optional(db)
        .await
}

pub async fn delete(db: &PgPool, token: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM session WHERE token_hash = $1")
        .bind(secrets::sha256(token))
        .execute(db)
        .await?;
    Ok(())
}

/// Removes expired sessions; run periodically.
pub async fn purge_expired(db: &PgPool) -> sqlx::Result<u64> {
    Ok(sqlx::query("DELETE FROM session WHERE expires_at <= now()")
        .execute(db)
        .await?
        .rows_affected())
}

/// The value of cookie `name` in the request headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, `Secure` over TLS.
/// `max_age_seconds` of 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let v = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"
    );
    HeaderValue::from_str(&v).expect("cookie values are base64url")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cookies_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; gh_session=tok; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "gh_sess"), None);
        assert_eq!(cookie(&h, CSRF_COOKIE), None);
    }

    #[test]
    fn cookie_flags() {
        let c = set_cookie(SESSION_COOKIE, "abc", 60, true);
        let s = c.to_str().unwrap();
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Lax") && s.ends_with("Secure"));
        let c = set_cookie(SESSION_COOKIE, "abc", 60, false);
        assert!(!c.to_str().unwrap().contains("Secure"));
    }
}
