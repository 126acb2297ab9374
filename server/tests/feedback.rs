//! DevPortal v3 ratings and comments through the real router and PostgreSQL: anonymous reads in
//! WSO2's RatingList / CommentList shape, one rating per user and the average, threads of
//! replies, paging, field-named 400s, who may edit and delete, 401 / 403 that store nothing, and
//! 404 for every API a visitor cannot see.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};
use sqlx::PgPool;

const P: &str = "/api/am/publisher/v4";
const D: &str = "/api/am/devportal/v3";
const PUBLISHER: &str = "apim:api_view apim:api_create apim:api_publish apim:api_manage";
const NO_SUCH: &str = "00000000-0000-4000-8000-000000000000";

struct Who {
    publisher: String,
    /// `subscriber` with `apim:subscribe`.
    sub: String,
    /// `publisher` as a Developer Portal user (`apim:subscribe`).
    pub_dev: String,
}

async fn who(app: &TestApp) -> Who {
    Who {
        publisher: app
            .access_token("publisher", DEMO_PASSWORD, PUBLISHER)
            .await,
        sub: app
            .access_token("subscriber", DEMO_PASSWORD, "apim:subscribe")
            .await,
        pub_dev: app
            .access_token("publisher", DEMO_PASSWORD, "apim:subscribe")
            .await,
    }
}

/// A published API visible to everyone.
async fn public_api(app: &TestApp, token: &str, name: &str, context: &str) -> String {
    petstore_api(
        app,
        token,
        json!({"name": name, "context": context, "version": "1.0.0"}),
        true,
    )
    .await
}

async fn rate(app: &TestApp, token: &str, api: &str, rating: Value) -> Resp {
    app.call(
        Method::PUT,
        &format!("{D}/apis/{api}/user-rating"),
        token,
        Some(json!({ "rating": rating })),
    )
    .await
}

async fn post(
    app: &TestApp,
    token: &str,
    api: &str,
    reply_to: Option<&str>,
    content: &str,
) -> Resp {
    let query = reply_to
        .map(|r| format!("?replyTo={r}"))
        .unwrap_or_default();
    app.call(
        Method::POST,
        &format!("{D}/apis/{api}/comments{query}"),
        token,
        Some(json!({ "content": content })),
    )
    .await
}

/// Posts a comment and returns its id.
async fn comment(
    app: &TestApp,
    token: &str,
    api: &str,
    reply_to: Option<&str>,
    content: &str,
) -> String {
    let r = post(app, token, api, reply_to, content).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_string()
}

/// A GET without credentials, expecting JSON.
async fn anon(app: &TestApp, path: &str) -> Resp {
    let req = axum::http::Request::builder()
        .uri(path)
        .header("accept", "application/json")
        .body(axum::body::Body::empty())
        .unwrap();
    app.send(req).await
}

/// A 400 in WSO2's body that names `field` in `error[]`.
fn assert_names_field(r: &Resp, field: &str) {
    let j = assert_wso2_error(r, StatusCode::BAD_REQUEST);
    let named = j["error"]
        .as_array()
        .is_some_and(|e| e.iter().any(|x| x["code"] == field));
    assert!(named, "expected `{field}` named in {j}");
}

/// WSO2's `Pagination` with its five fields.
fn assert_page(v: &Value, offset: i64, limit: i64, total: i64, count: usize) {
    assert_eq!(v["count"], json!(count), "{v}");
    assert_eq!(v["list"].as_array().map(Vec::len), Some(count), "{v}");
    let p = &v["pagination"];
    assert_eq!(p["offset"], offset, "{v}");
    assert_eq!(p["limit"], limit, "{v}");
    assert_eq!(p["total"], total, "{v}");
    assert!(p["next"].is_string() && p["previous"].is_string(), "{v}");
    assert_eq!(p["next"] == "", offset + limit >= total, "next: {v}");
    assert_eq!(p["previous"] == "", offset == 0, "previous: {v}");
}

/// A pagination link (relative to the DevPortal REST API's base) as a request path.
fn link(l: &Value) -> String {
    let l = l.as_str().expect("a link");
    assert!(
        l.starts_with("/apis/"),
        "WSO2's links start at the API base: {l}"
    );
    format!("{D}{l}")
}

fn ids(v: &Value) -> Vec<String> {
    v["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

async fn ratings_in_db(db: &PgPool) -> i64 {
    count(db, "SELECT count(*) FROM api_rating").await
}

async fn comments_in_db(db: &PgPool) -> i64 {
    count(db, "SELECT count(*) FROM api_comment").await
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn anyone_reads_the_empty_ratings_and_comments_of_a_public_api(db: PgPool) {
    let app = spawn(db).await;
    let w = who(&app).await;
    let api = public_api(&app, &w.publisher, "Pets", "/pets").await;

    let r = anon(&app, &format!("{D}/apis/{api}/ratings")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["avgRating"], "0", "{j}");
    assert!(j["userRating"].is_null(), "nobody is asking: {j}");
    assert_page(&j, 0, 25, 0, 0);

    let r = anon(&app, &format!("{D}/apis/{api}/comments")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_page(&r.json(), 0, 25, 0, 0);

    // A signed-in visitor without a rating of their own reads the same.
    let r = app
        .get_bearer(&format!("{D}/apis/{api}/ratings"), &w.sub)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["avgRating"], "0");
    // A bad token is refused rather than read as anonymous.
    let r = app
        .get_bearer(&format!("{D}/apis/{api}/ratings"), "not-a-token")
        .await;
    assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn each_developer_rates_once_and_everyone_sees_the_average(db: PgPool) {
    let app = spawn(db.clone()).await;
    let w = who(&app).await;
    let api = public_api(&app, &w.publisher, "Pets", "/pets").await;
    let user_rating = format!("{D}/apis/{api}/user-rating");
    let ratings = format!("{D}/apis/{api}/ratings");

    // Nothing to read before rating.
    let r = app.get_bearer(&user_rating, &w.sub).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);

    let r = rate(&app, &w.sub, &api, json!(5)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mine = r.json();
    assert_eq!(mine["rating"], 5);
    assert_eq!(mine["ratedBy"], "subscriber");
    assert_eq!(mine["apiId"], api.as_str());
    let rating_id = mine["ratingId"].as_str().unwrap().to_string();

    let r = rate(&app, &w.pub_dev, &api, json!(2)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Again: replaces, still one rating per user.
    let r = rate(&app, &w.pub_dev, &api, json!(4)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["rating"], 4);
    assert_eq!(ratings_in_db(&db).await, 2);

    let r = app.get_bearer(&user_rating, &w.sub).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["rating"], 5);
    assert_eq!(j["ratingId"], rating_id.as_str());
    assert_eq!(j["ratedBy"], "subscriber");

    // The list: the average, the caller's own rating, WSO2's pagination.
    let j = app.get_bearer(&ratings, &w.sub).await.json();
    assert_eq!(j["avgRating"], "4.5", "{j}");
    assert_eq!(j["userRating"], 5, "{j}");
    assert_page(&j, 0, 25, 2, 2);
    let mut by: Vec<(String, i64)> = j["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["apiId"], api.as_str());
            assert!(r["ratingId"].is_string());
            (
                r["ratedBy"].as_str().unwrap().to_string(),
                r["rating"].as_i64().unwrap(),
            )
        })
        .collect();
    by.sort();
    assert_eq!(
        by,
        [("publisher".to_string(), 4), ("subscriber".to_string(), 5)]
    );
    let j = app.get_bearer(&ratings, &w.pub_dev).await.json();
    assert_eq!(j["userRating"], 4, "{j}");
    let j = anon(&app, &ratings).await.json();
    assert_eq!(j["avgRating"], "4.5");
    assert!(j["userRating"].is_null(), "{j}");

    // Paging through the ratings with the links given.
    let first = anon(&app, &format!("{ratings}?limit=1")).await.json();
    assert_page(&first, 0, 1, 2, 1);
    let second = anon(&app, &link(&first["pagination"]["next"])).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    let second = second.json();
    assert_page(&second, 1, 1, 2, 1);
    assert_ne!(first["list"][0]["ratingId"], second["list"][0]["ratingId"]);
    let back = anon(&app, &link(&second["pagination"]["previous"]))
        .await
        .json();
    assert_eq!(back["list"], first["list"]);

    // Out of range, or no rating at all: 400 naming `rating`, nothing changed.
    for bad in [json!(0), json!(6), json!(-1), json!(100)] {
        let r = rate(&app, &w.sub, &api, bad.clone()).await;
        assert_names_field(&r, "rating");
    }
    let r = app
        .call(Method::PUT, &user_rating, &w.sub, Some(json!({})))
        .await;
    assert_names_field(&r, "rating");
    let r = rate(&app, &w.sub, &api, json!("five")).await;
    assert_wso2_error(&r, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get_bearer(&user_rating, &w.sub).await.json()["rating"],
        5
    );

    // Anonymous: 401 with WSO2's body; a token without apim:subscribe: 403; nothing stored.
    let r = app
        .send(
            axum::http::Request::builder()
                .method(Method::PUT)
                .uri(&user_rating)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(r#"{"rating": 1}"#))
                .unwrap(),
        )
        .await;
    assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
    let admin_dev = app
        .access_token("admin", ADMIN_PASSWORD, "apim:subscribe")
        .await;
    let no_subscribe = app
        .access_token("admin", ADMIN_PASSWORD, "apim:app_manage apim:api_view")
        .await;
    let r = rate(&app, &no_subscribe, &api, json!(1)).await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app.get_bearer(&user_rating, &no_subscribe).await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app
        .call(Method::DELETE, &user_rating, &no_subscribe, None)
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    assert_eq!(ratings_in_db(&db).await, 2);
    let r = app.get_bearer(&user_rating, &admin_dev).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    // Refused deletes of the subscriber's rating by others change nothing.
    let r = app
        .send(
            axum::http::Request::builder()
                .method(Method::DELETE)
                .uri(&user_rating)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
    assert_eq!(ratings_in_db(&db).await, 2);

    // Deleting one's own rating: gone for them, the average follows; deleting again is fine.
    let r = app.call(Method::DELETE, &user_rating, &w.sub, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app.get_bearer(&user_rating, &w.sub).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let j = app.get_bearer(&ratings, &w.sub).await.json();
    assert_eq!(j["avgRating"], "4", "{j}");
    assert!(j["userRating"].is_null(), "{j}");
    assert_page(&j, 0, 25, 1, 1);
    let r = app.call(Method::DELETE, &user_rating, &w.sub, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(ratings_in_db(&db).await, 1);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn comments_take_replies_in_one_level_threads(db: PgPool) {
    let app = spawn(db.clone()).await;
    let w = who(&app).await;
    let api = public_api(&app, &w.publisher, "Pets", "/pets").await;
    let other = public_api(&app, &w.publisher, "Cats", "/cats").await;
    let comments = format!("{D}/apis/{api}/comments");

    let r = post(&app, &w.sub, &api, None, "  How do I page through pets?  ").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let top = r.json();
    let top_id = top["id"].as_str().unwrap().to_string();
    assert_eq!(r.location().unwrap(), format!("{comments}/{top_id}"));
    assert_eq!(top["content"], "How do I page through pets?", "trimmed");
    assert_eq!(top["createdBy"], "subscriber");
    assert_eq!(top["category"], "general");
    assert_eq!(top["entryPoint"], "devPortal");
    assert!(top["createdTime"].is_string());
    assert!(top["parentCommentId"].is_null(), "{top}");
    assert_page(&top["replies"], 0, 20, 0, 0);
    // The Location answers with the same comment, to anyone.
    let r = anon(&app, &r.location().unwrap()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["id"], top_id.as_str());

    // A reply, and a reply to the reply: both in the top-level comment's thread.
    let r = post(
        &app,
        &w.pub_dev,
        &api,
        Some(&top_id),
        "Use limit and offset.",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let reply = r.json();
    let reply_id = reply["id"].as_str().unwrap().to_string();
    assert_eq!(reply["parentCommentId"], top_id.as_str());
    assert_eq!(reply["createdBy"], "publisher");
    assert_eq!(r.location().unwrap(), format!("{comments}/{reply_id}"));
    let r = post(&app, &w.sub, &api, Some(&reply_id), "Thanks!").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let thanks = r.json();
    let thanks_id = thanks["id"].as_str().unwrap().to_string();
    assert_eq!(
        thanks["parentCommentId"],
        top_id.as_str(),
        "a reply to a reply joins the top-level thread"
    );

    // The list shows top-level comments only, each with its replies, oldest first.
    let list = anon(&app, &comments).await.json();
    assert_page(&list, 0, 25, 1, 1);
    assert_eq!(list["list"][0]["id"], top_id.as_str());
    let replies = &list["list"][0]["replies"];
    assert_page(replies, 0, 20, 2, 2);
    assert_eq!(ids(replies), [reply_id.clone(), thanks_id.clone()]);
    assert_eq!(replies["list"][0]["content"], "Use limit and offset.");

    // One comment with a page of its replies; the replies on their own.
    let one = anon(&app, &format!("{comments}/{top_id}")).await.json();
    assert_eq!(ids(&one["replies"]), [reply_id.clone(), thanks_id.clone()]);
    let one = anon(
        &app,
        &format!("{comments}/{top_id}?replyLimit=1&replyOffset=1"),
    )
    .await
    .json();
    assert_page(&one["replies"], 1, 1, 2, 1);
    assert_eq!(ids(&one["replies"]), [thanks_id.as_str()]);
    let r = anon(&app, &format!("{comments}/{top_id}/replies")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let all = r.json();
    assert_page(&all, 0, 25, 2, 2);
    assert_eq!(ids(&all), [reply_id.clone(), thanks_id.clone()]);
    let first = anon(&app, &format!("{comments}/{top_id}/replies?limit=1"))
        .await
        .json();
    assert_page(&first, 0, 1, 2, 1);
    let second = anon(&app, &link(&first["pagination"]["next"])).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    assert_eq!(ids(&second.json()), [thanks_id.as_str()]);
    // A reply read on its own.
    let r = anon(&app, &format!("{comments}/{reply_id}")).await.json();
    assert_eq!(r["parentCommentId"], top_id.as_str());
    assert_eq!(r["content"], "Use limit and offset.");
    // With the commenter's name when asked.
    let r = anon(&app, &format!("{comments}?includeCommenterInfo=true"))
        .await
        .json();
    assert_eq!(
        r["list"][0]["commenterInfo"]["fullName"], "Sam Subscriber",
        "{r}"
    );
    // Comments of one API are not another's.
    let r = anon(&app, &format!("{D}/apis/{other}/comments/{top_id}")).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let r = anon(&app, &format!("{D}/apis/{other}/comments"))
        .await
        .json();
    assert_page(&r, 0, 25, 0, 0);
    let r = anon(&app, &format!("{comments}/{NO_SUCH}")).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    let r = anon(&app, &format!("{comments}/not-a-uuid/replies")).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);

    // Bad input: 400 naming the field, nothing stored.
    let before = comments_in_db(&db).await;
    assert_eq!(before, 3);
    for content in ["", "   \n ", &"x".repeat(513), &"é".repeat(513)] {
        let r = post(&app, &w.sub, &api, None, content).await;
        assert_names_field(&r, "content");
    }
    let r = app
        .call(Method::POST, &comments, &w.sub, Some(json!({})))
        .await;
    assert_names_field(&r, "content");
    let r = app
        .call(
            Method::POST,
            &comments,
            &w.sub,
            Some(json!({"content": "ok", "category": "no spaces please"})),
        )
        .await;
    assert_names_field(&r, "category");
    for reply_to in [NO_SUCH, "not-a-uuid"] {
        let r = post(&app, &w.sub, &api, Some(reply_to), "Hello").await;
        assert_names_field(&r, "replyTo");
    }
    // A comment of another API is no parent here.
    let cat = comment(&app, &w.sub, &other, None, "Meow").await;
    let r = post(&app, &w.sub, &api, Some(&cat), "Hello").await;
    assert_names_field(&r, "replyTo");
    assert_eq!(comments_in_db(&db).await, before + 1);
    // 512 characters (not bytes) is the most.
    let r = post(&app, &w.sub, &api, None, &"é".repeat(512)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(comments_in_db(&db).await, before + 2);

    // Anonymous: 401; a token without apim:subscribe: 403; nothing stored.
    let r = app
        .send(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri(&comments)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(r#"{"content": "hi"}"#))
                .unwrap(),
        )
        .await;
    assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
    let no_subscribe = app
        .access_token("subscriber", DEMO_PASSWORD, "apim:app_manage")
        .await;
    let r = post(&app, &no_subscribe, &api, None, "hi").await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = post(&app, &no_subscribe, &api, Some(&top_id), "hi").await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    assert_eq!(comments_in_db(&db).await, before + 2);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn comments_page_like_wso2(db: PgPool) {
    let app = spawn(db).await;
    let w = who(&app).await;
    let api = public_api(&app, &w.publisher, "Pets", "/pets").await;
    let comments = format!("{D}/apis/{api}/comments");
    let mut posted = Vec::new();
    for n in 1..=5 {
        posted.push(comment(&app, &w.sub, &api, None, &format!("Comment {n}")).await);
    }

    // Newest first.
    let all = anon(&app, &comments).await.json();
    assert_page(&all, 0, 25, 5, 5);
    let newest_first: Vec<String> = posted.iter().rev().cloned().collect();
    assert_eq!(ids(&all), newest_first);

    // Pages of two, walked forwards with `next` and back with `previous`.
    let mut page = anon(&app, &format!("{comments}?limit=2&offset=0"))
        .await
        .json();
    let mut seen = Vec::new();
    let mut pages = vec![page.clone()];
    loop {
        let offset = page["pagination"]["offset"].as_i64().unwrap();
        assert_page(&page, offset, 2, 5, (5 - offset as usize).min(2));
        seen.extend(ids(&page));
        if page["pagination"]["next"] == "" {
            break;
        }
        let r = anon(&app, &link(&page["pagination"]["next"])).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        page = r.json();
        pages.push(page.clone());
    }
    assert_eq!(seen, newest_first);
    assert_eq!(pages.len(), 3);
    let r = anon(&app, &link(&pages[2]["pagination"]["previous"]))
        .await
        .json();
    assert_eq!(ids(&r), ids(&pages[1]));
    let r = anon(&app, &link(&pages[1]["pagination"]["previous"]))
        .await
        .json();
    assert_eq!(ids(&r), ids(&pages[0]));

    // Past the end: an empty page, still counted.
    let r = anon(&app, &format!("{comments}?limit=2&offset=10"))
        .await
        .json();
    assert_eq!(r["count"], 0);
    assert_eq!(r["pagination"]["total"], 5);
    assert_eq!(r["pagination"]["next"], "");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn authors_edit_and_authors_or_admins_delete(db: PgPool) {
    let app = spawn(db.clone()).await;
    let w = who(&app).await;
    let api = public_api(&app, &w.publisher, "Pets", "/pets").await;
    let comments = format!("{D}/apis/{api}/comments");
    let top = comment(&app, &w.sub, &api, None, "First version").await;
    let one = format!("{comments}/{top}");

    // The author edits: text and category; `updatedTime` is set.
    let r = app
        .call(
            Method::PATCH,
            &one,
            &w.sub,
            Some(json!({"content": "Second version"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!(j["content"], "Second version");
    assert!(j["updatedTime"].is_string(), "{j}");
    let r = app
        .call(
            Method::PATCH,
            &one,
            &w.sub,
            Some(json!({"category": "question"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["category"], "question");
    assert_eq!(r.json()["content"], "Second version", "kept");
    for bad in ["", &"y".repeat(513)] {
        let r = app
            .call(Method::PATCH, &one, &w.sub, Some(json!({"content": bad})))
            .await;
        assert_names_field(&r, "content");
    }
    // Anyone else may not (not even an admin), nor may a token without apim:subscribe.
    let admin = app
        .access_token("admin", ADMIN_PASSWORD, "apim:admin apim:subscribe")
        .await;
    for token in [&w.pub_dev, &admin] {
        let r = app
            .call(
                Method::PATCH,
                &one,
                token,
                Some(json!({"content": "Mine now"})),
            )
            .await;
        assert_wso2_error(&r, StatusCode::FORBIDDEN);
    }
    let no_subscribe = app
        .access_token("subscriber", DEMO_PASSWORD, "apim:app_manage")
        .await;
    let r = app
        .call(
            Method::PATCH,
            &one,
            &no_subscribe,
            Some(json!({"content": "x"})),
        )
        .await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app
        .send(
            axum::http::Request::builder()
                .method(Method::PATCH)
                .uri(&one)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(r#"{"content": "x"}"#))
                .unwrap(),
        )
        .await;
    assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
    let r = app
        .call(
            Method::PATCH,
            &format!("{comments}/{NO_SUCH}"),
            &w.sub,
            Some(json!({"content": "x"})),
        )
        .await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);
    assert_eq!(
        anon(&app, &one).await.json()["content"],
        "Second version",
        "unchanged"
    );

    // Deleting: another developer may not; nor anonymous or a token without the scopes.
    let reply = comment(&app, &w.pub_dev, &api, Some(&top), "A reply").await;
    assert_eq!(comments_in_db(&db).await, 2);
    let r = app.call(Method::DELETE, &one, &w.pub_dev, None).await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app.call(Method::DELETE, &one, &no_subscribe, None).await;
    assert_wso2_error(&r, StatusCode::FORBIDDEN);
    let r = app
        .send(
            axum::http::Request::builder()
                .method(Method::DELETE)
                .uri(&one)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_wso2_error(&r, StatusCode::UNAUTHORIZED);
    assert_eq!(comments_in_db(&db).await, 2);

    // The author of a reply deletes it; the thread stays.
    let r = app
        .call(
            Method::DELETE,
            &format!("{comments}/{reply}"),
            &w.pub_dev,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(comments_in_db(&db).await, 1);
    let j = anon(&app, &one).await.json();
    assert_page(&j["replies"], 0, 25, 0, 0);

    // An admin (apim:admin alone) deletes anyone's comment, its replies with it.
    comment(&app, &w.pub_dev, &api, Some(&top), "Reply one").await;
    comment(&app, &w.sub, &api, Some(&top), "Reply two").await;
    let keep = comment(&app, &w.sub, &api, None, "Another thread").await;
    assert_eq!(comments_in_db(&db).await, 4);
    let moderator = app
        .access_token("admin", ADMIN_PASSWORD, "apim:admin")
        .await;
    let r = app.call(Method::DELETE, &one, &moderator, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(comments_in_db(&db).await, 1, "the replies went too");
    assert_wso2_error(&anon(&app, &one).await, StatusCode::NOT_FOUND);
    assert_wso2_error(
        &anon(&app, &format!("{one}/replies")).await,
        StatusCode::NOT_FOUND,
    );
    let j = anon(&app, &comments).await.json();
    assert_eq!(ids(&j), [keep.as_str()]);
    // Gone is gone.
    let r = app.call(Method::DELETE, &one, &moderator, None).await;
    assert_wso2_error(&r, StatusCode::NOT_FOUND);

    // The author deletes their own.
    let r = app
        .call(Method::DELETE, &format!("{comments}/{keep}"), &w.sub, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(comments_in_db(&db).await, 0);
}

/// Every ratings / comments operation on `api` with `token` (anonymous when `None`), with
/// `comment` as the comment id: (method, path, status).
async fn every_operation(
    app: &TestApp,
    token: Option<&str>,
    api: &str,
    comment: &str,
) -> Vec<(Method, String, StatusCode)> {
    let base = format!("{D}/apis/{api}");
    let mut ops: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("{base}/ratings"), None),
        (Method::GET, format!("{base}/comments"), None),
        (Method::GET, format!("{base}/comments/{comment}"), None),
        (
            Method::GET,
            format!("{base}/comments/{comment}/replies"),
            None,
        ),
    ];
    if token.is_some() {
        ops.extend([
            (Method::GET, format!("{base}/user-rating"), None),
            (
                Method::PUT,
                format!("{base}/user-rating"),
                Some(json!({"rating": 3})),
            ),
            (Method::DELETE, format!("{base}/user-rating"), None),
            (
                Method::POST,
                format!("{base}/comments"),
                Some(json!({"content": "hello"})),
            ),
            (
                Method::POST,
                format!("{base}/comments?replyTo={comment}"),
                Some(json!({"content": "hello"})),
            ),
            (
                Method::PATCH,
                format!("{base}/comments/{comment}"),
                Some(json!({"content": "edited"})),
            ),
            (Method::DELETE, format!("{base}/comments/{comment}"), None),
        ]);
    }
    let mut out = Vec::new();
    for (method, path, body) in ops {
        let r = match token {
            Some(t) => app.call(method.clone(), &path, t, body).await,
            None => anon(app, &path).await,
        };
        if r.status.is_client_error() {
            assert_wso2_error(&r, r.status);
        }
        out.push((method, path, r.status));
    }
    out
}

fn assert_all(results: &[(Method, String, StatusCode)], want: StatusCode) {
    let wrong: Vec<_> = results.iter().filter(|(_, _, s)| *s != want).collect();
    assert!(wrong.is_empty(), "expected {want} for all, got {wrong:?}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn apis_a_visitor_cannot_see_have_no_ratings_or_comments(db: PgPool) {
    let app = spawn(db.clone()).await;
    let w = who(&app).await;

    // PRIVATE: signed-in users of the organization rate and comment; anonymous visitors
    // see nothing.
    let private = petstore_api(
        &app,
        &w.publisher,
        json!({"name": "Org Pets", "context": "/org-pets", "version": "1.0.0", "visibility": "PRIVATE"}),
        true,
    )
    .await;
    assert_eq!(
        rate(&app, &w.sub, &private, json!(4)).await.status,
        StatusCode::OK
    );
    let c = comment(&app, &w.sub, &private, None, "Org only").await;
    comment(&app, &w.pub_dev, &private, Some(&c), "Indeed").await;
    let r = app
        .get_bearer(&format!("{D}/apis/{private}/ratings"), &w.sub)
        .await;
    assert_eq!(r.json()["avgRating"], "4");
    assert_all(
        &every_operation(&app, None, &private, &c).await,
        StatusCode::NOT_FOUND,
    );

    // RESTRICTED to the publisher role: the subscriber sees nothing, changes nothing.
    let restricted = petstore_api(
        &app,
        &w.publisher,
        json!({"name": "Team Pets", "context": "/team-pets", "version": "1.0.0",
               "visibility": "RESTRICTED", "visibleRoles": ["publisher"]}),
        true,
    )
    .await;
    let team = comment(&app, &w.pub_dev, &restricted, None, "Team talk").await;
    assert_eq!(
        rate(&app, &w.pub_dev, &restricted, json!(5)).await.status,
        StatusCode::OK
    );
    let (ratings, comments) = (ratings_in_db(&db).await, comments_in_db(&db).await);
    assert_all(
        &every_operation(&app, Some(&w.sub), &restricted, &team).await,
        StatusCode::NOT_FOUND,
    );
    assert_all(
        &every_operation(&app, None, &restricted, &team).await,
        StatusCode::NOT_FOUND,
    );
    assert_eq!(
        (ratings_in_db(&db).await, comments_in_db(&db).await),
        (ratings, comments)
    );

    // Not published (CREATED): nobody in the Developer Portal sees it, not even its publisher.
    let draft = petstore_api(
        &app,
        &w.publisher,
        json!({"name": "Draft Pets", "context": "/draft-pets", "version": "1.0.0"}),
        false,
    )
    .await;
    for token in [Some(w.sub.as_str()), Some(w.pub_dev.as_str()), None] {
        assert_all(
            &every_operation(&app, token, &draft, NO_SUCH).await,
            StatusCode::NOT_FOUND,
        );
    }

    // Published, commented and rated, then blocked: its feedback is out of sight too.
    let blocked = public_api(&app, &w.publisher, "Blocked Pets", "/blocked-pets").await;
    let b = comment(&app, &w.sub, &blocked, None, "Before the block").await;
    assert_eq!(
        rate(&app, &w.sub, &blocked, json!(2)).await.status,
        StatusCode::OK
    );
    let r = app
        .call(
            Method::POST,
            &format!("{P}/apis/change-lifecycle?apiId={blocked}&action=Block"),
            &w.publisher,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let (ratings, comments) = (ratings_in_db(&db).await, comments_in_db(&db).await);
    for token in [Some(w.sub.as_str()), None] {
        assert_all(
            &every_operation(&app, token, &blocked, &b).await,
            StatusCode::NOT_FOUND,
        );
    }
    assert_eq!(
        (ratings_in_db(&db).await, comments_in_db(&db).await),
        (ratings, comments),
        "nothing changed on a blocked API"
    );

    // Ids that are not UUIDs, or no API's: 404.
    for api in ["not-a-uuid", NO_SUCH] {
        for token in [Some(w.sub.as_str()), None] {
            assert_all(
                &every_operation(&app, token, api, &c).await,
                StatusCode::NOT_FOUND,
            );
        }
    }
    assert_eq!(
        (ratings_in_db(&db).await, comments_in_db(&db).await),
        (ratings, comments)
    );
}

/// The catalogue entry's `avgRating` (`GET /apis`, `GET /apis/{apiId}`).
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_catalogue_shows_each_apis_average_rating(db: PgPool) {
    let app = spawn(db).await;
    let w = who(&app).await;
    let rated = public_api(&app, &w.publisher, "Rated Pets", "/rated").await;
    let unrated = public_api(&app, &w.publisher, "Unrated Pets", "/unrated").await;
    for (token, n) in [(&w.sub, 5), (&w.pub_dev, 4)] {
        let r = rate(&app, token, &rated, json!(n)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }

    let list = anon(&app, &format!("{D}/apis")).await.json();
    let avg = |id: &str| {
        list["list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("{id} listed: {list}"))["avgRating"]
            .clone()
    };
    assert_eq!(avg(&rated), "4.5");
    assert_eq!(avg(&unrated), "0");
    let one = anon(&app, &format!("{D}/apis/{rated}")).await.json();
    assert_eq!(one["avgRating"], "4.5", "{one}");
    let one = anon(&app, &format!("{D}/apis/{unrated}")).await.json();
    assert_eq!(one["avgRating"], "0", "{one}");
}
