//! Draft uploads (issue 15): a picture uploaded once, then named by id in previews and saves;
//! bounded in size, this browser's own, expiring in an hour, and removed once expired. On the
//! aws backend the file goes straight to the bucket with the presigned POST, as a browser's
//! would (the moto server stands in for S3).

use reqwest::StatusCode;
use skyhigh::domain::{DraftId, DraftOwner, MemeId, MemeSource};
use time::OffsetDateTime;

use crate::helpers::{Browser, TestApp, cookie_value, on_aws, png};

/// This browser's draft tag, from its CSRF cookie (it has one once it has seen a form).
fn owner_of(browser: &Browser) -> DraftOwner {
    let cookie = cookie_value(&browser.jar, &browser.address, "skyhigh_csrf").expect("the browser has a CSRF cookie");
    skyhigh::web::csrf::draft_owner_of_cookie(&cookie).expect("a CSRF secret")
}

/// What `POST /memes/drafts/presign` answers, as the editor's script reads it.
async fn presign(browser: &Browser) -> serde_json::Value {
    let token = browser.csrf_token("/memes/new").await;
    let response = browser
        .client
        .post(browser.url("/memes/drafts/presign"))
        .header("origin", &browser.address)
        .header("x-csrf-token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// Posts `bytes` to `POST /memes/drafts`, through the app (either backend takes them so).
async fn post_draft(browser: &Browser, bytes: Vec<u8>) -> reqwest::Response {
    let token = browser.csrf_token("/memes/new").await;
    let form = reqwest::multipart::Form::new()
        .text("csrf_token", token)
        .part("image", reqwest::multipart::Part::bytes(bytes).file_name("photo.png"));
    browser
        .client
        .post(browser.url("/memes/drafts"))
        .header("origin", &browser.address)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Sends `bytes` to the presigned S3 POST `upload` as a browser would: the fields, then the file.
async fn post_to_storage(upload: &serde_json::Value, bytes: Vec<u8>) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in upload["fields"].as_object().unwrap() {
        form = form.text(name.clone(), value.as_str().unwrap().to_owned());
    }
    let file_field = upload["file_field"].as_str().unwrap().to_owned();
    form = form.part(file_field, reqwest::multipart::Part::bytes(bytes).file_name("photo.png"));
    reqwest::Client::new().post(upload["url"].as_str().unwrap()).multipart(form).send().await.unwrap()
}

/// Makes a draft the way the editor's script does: straight to storage where the app hands out
/// a presigned POST (aws), else through the app. Returns its id.
async fn make_draft(browser: &Browser, bytes: Vec<u8>) -> String {
    let answer = presign(browser).await;
    if answer["upload"].is_null() {
        assert!(!on_aws(), "the aws backend sends drafts straight to S3");
        let response = post_draft(browser, bytes).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: serde_json::Value = response.json().await.unwrap();
        return body["draft"].as_str().unwrap().to_owned();
    }
    assert!(on_aws(), "only the aws backend presigns");
    let response = post_to_storage(&answer["upload"], bytes).await;
    assert!(response.status().is_success(), "the S3 POST: {}", response.status());
    answer["draft"].as_str().unwrap().to_owned()
}

async fn preview_of_draft(browser: &Browser, draft: &str) -> reqwest::Response {
    browser.post_meme_form("/memes/preview", &[("draft", draft), ("caption", "top"), ("caption", "bottom")], None).await
}

/// The human message of a refusal (a page, or the JSON body of the drafts' routes).
async fn refusal(response: reqwest::Response, status: StatusCode) -> String {
    assert_eq!(response.status(), status);
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_draft_is_uploaded_once_then_previewed_and_saved_by_its_id() {
    let app = TestApp::spawn().await;
    app.signed_up("ann").await;
    let picture = png(320, 200);

    let draft = make_draft(&app, picture.clone()).await;
    let first = preview_of_draft(&app, &draft).await;
    let second = preview_of_draft(&app, &draft).await;
    let saved = app.post_meme_form("/memes", &[("draft", &draft), ("caption", "kept"), ("save", "1")], None).await;

    for preview in [first, second] {
        assert_eq!(preview.status(), StatusCode::OK);
        assert_eq!(preview.headers()["content-type"], "image/jpeg");
    }
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let id = saved.headers()["location"].to_str().unwrap().trim_start_matches("/memes/").to_owned();
    let meme = app.storage.memes.get(MemeId::parse(&id).unwrap()).await.unwrap().expect("saved");
    let MemeSource::Upload { original_key } = &meme.source else { panic!("a draft is saved as an upload") };
    let original = app.storage.blobs.get(original_key).await.unwrap().expect("the original is stored");
    assert_eq!(original.bytes.as_ref(), picture.as_slice(), "stored unchanged, as any upload");
    assert_eq!(original.content_type, "image/png");
}

#[tokio::test]
async fn the_app_keeps_a_posted_draft_on_either_backend_and_says_when_it_expires() {
    let app = TestApp::spawn().await;
    app.get("/memes/new").await;

    let response = post_draft(&app, png(64, 64)).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let body: serde_json::Value = response.json().await.unwrap();
    let id = DraftId::parse(body["draft"].as_str().unwrap()).unwrap();
    let expires_at =
        OffsetDateTime::parse(body["expires_at"].as_str().unwrap(), &time::format_description::well_known::Rfc3339)
            .unwrap();
    assert_eq!(expires_at, id.expires_at());
    let lifetime = expires_at - OffsetDateTime::now_utc();
    assert!(lifetime > time::Duration::minutes(59) && lifetime <= time::Duration::hours(1), "{lifetime}");
    assert_eq!(preview_of_draft(&app, id.as_str()).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_file_that_is_no_image_is_refused_as_a_draft() {
    let app = TestApp::spawn().await;

    let message =
        refusal(post_draft(&app, b"just some text, no picture".to_vec()).await, StatusCode::UNPROCESSABLE_ENTITY).await;

    assert!(message.contains("not an image we can read"), "{message}");
    assert!(message.starts_with('{'), "scripts get JSON: {message}");
}

#[tokio::test]
async fn a_draft_over_the_upload_limit_is_refused() {
    let app = TestApp::spawn_with(|config| config.max_upload_mb = 1).await;
    let mut oversize = png(64, 64);
    oversize.resize(1024 * 1024 + 1, 0);

    let posted = post_draft(&app, oversize.clone()).await;

    let message = refusal(posted, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(message.contains("The limit is 1 MB"), "{message}");
    let answer = presign(&app).await;
    if on_aws() {
        let policy = answer["upload"]["fields"]["policy"].as_str().unwrap();
        use base64::Engine as _;
        let policy: serde_json::Value =
            serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(policy).unwrap()).unwrap();
        assert!(
            policy["conditions"].as_array().unwrap().contains(&serde_json::json!([
                "content-length-range",
                0,
                1024 * 1024
            ])),
            "S3 refuses a larger file: {policy}"
        );
        // moto does not enforce the policy, so the file lands; the app still refuses to read it.
        let landed = post_to_storage(&answer["upload"], oversize).await;
        assert!(landed.status().is_success());
        let draft = answer["draft"].as_str().unwrap();
        let message = refusal(preview_of_draft(&app, draft).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(message.contains("too large"), "{message}");
    } else {
        assert!(answer["upload"].is_null(), "locally drafts go through the app: {answer}");
    }
}

#[tokio::test]
async fn an_expired_draft_is_refused() {
    let app = TestApp::spawn().await;
    app.get("/memes/new").await;
    let owner = owner_of(&app);
    let now = OffsetDateTime::now_utc();
    // Time is in the id: a draft whose hour has passed, and one still live, both stored.
    let expired = DraftId::new(now - time::Duration::seconds(1));
    let live = DraftId::new(now + time::Duration::minutes(30));
    for id in [&expired, &live] {
        app.storage.drafts.put(&owner, id, png(64, 64).into()).await.unwrap();
    }

    let refused = preview_of_draft(&app, expired.as_str()).await;
    let accepted = preview_of_draft(&app, live.as_str()).await;

    let message = refusal(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(message.contains("has expired"), "{message}");
    assert_eq!(accepted.status(), StatusCode::OK, "the same planting, live, previews");
}

#[tokio::test]
async fn another_browsers_draft_is_refused_and_so_are_unknown_and_malformed_ids() {
    let app = TestApp::spawn().await;
    let draft = make_draft(&app, png(64, 64)).await;
    let other = app.new_browser();
    let unknown = DraftId::new(OffsetDateTime::now_utc() + time::Duration::minutes(30));

    let theirs = preview_of_draft(&other, &draft).await;
    let not_made = preview_of_draft(&app, unknown.as_str()).await;
    let malformed = preview_of_draft(&app, "../../etc/passwd").await;
    let saved_by_other = other.post_meme_form("/memes", &[("draft", &draft), ("caption", "mine?")], None).await;

    for response in [theirs, not_made, saved_by_other] {
        let message = refusal(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert!(message.contains("not available in this browser"), "{message}");
    }
    let message = refusal(malformed, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(message.contains("not valid"), "{message}");
    assert_eq!(preview_of_draft(&app, &draft).await.status(), StatusCode::OK, "still its maker's");
    let as_media = other.get(&format!("/media/drafts/{}/{draft}", owner_of(&app).as_str())).await;
    assert_eq!(
        as_media.status(),
        StatusCode::NOT_FOUND,
        "drafts are never served as media (on aws they share the bucket)"
    );
}

#[tokio::test]
async fn a_presigned_upload_needs_the_forms_token() {
    let app = TestApp::spawn().await;
    app.get("/memes/new").await;

    let response = app
        .client
        .post(app.url("/memes/drafts/presign"))
        .header("origin", &app.address)
        .header("x-csrf-token", "forged")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn expired_drafts_are_removed() {
    let app = TestApp::spawn().await;
    app.get("/memes/new").await;
    if on_aws() {
        // S3 removes them by the bucket's lifecycle rule (the app refuses them from their expiry:
        // `an_expired_draft_is_refused`); the emulator's bucket has the rule infra/ gives.
        let clients = skyhigh::storage::aws::Clients::from_environment().await.unwrap();
        let bucket = crate::helpers::backend_env(&app.data_dir)
            .into_iter()
            .find(|(name, _)| *name == "SKYHIGH_BUCKET")
            .map(|(_, value)| value)
            .unwrap();
        let lifecycle = clients.s3.get_bucket_lifecycle_configuration().bucket(&bucket).send().await.unwrap();
        let rule = lifecycle
            .rules()
            .iter()
            .find(|r| r.filter().and_then(|f| f.prefix()) == Some("drafts/"))
            .expect("a lifecycle rule on drafts/");
        assert_eq!(rule.status().as_str(), "Enabled");
        assert_eq!(rule.expiration().and_then(|e| e.days()), Some(1));
        return;
    }
    // Written as the app wrote them before: the sweep knows their expiry from their names.
    let folder = app.data_dir.join("drafts").join(owner_of(&app).as_str());
    std::fs::create_dir_all(&folder).unwrap();
    let now = OffsetDateTime::now_utc();
    let expired = folder.join(DraftId::new(now - time::Duration::minutes(1)).as_str());
    let live = folder.join(DraftId::new(now + time::Duration::minutes(59)).as_str());
    std::fs::write(&expired, png(8, 8)).unwrap();
    std::fs::write(&live, png(8, 8)).unwrap();

    let made = make_draft(&app, png(64, 64)).await;

    assert!(!expired.exists(), "the expired draft is removed");
    assert!(live.exists(), "a live one stays");
    assert!(folder.join(&made).exists());
}
