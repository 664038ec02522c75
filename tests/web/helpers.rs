//! Starts the real application on port 0 with a fresh data folder, and offers one method per
//! user action. Each test gets its own app, so tests never share state.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode, Url};
use skyhigh::config::Config;
use skyhigh::startup::Application;
use skyhigh::storage::Storage;
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery staple";

/// One browser: its own cookie jar, talking to the app, and the mailbox its sign-ups read
/// (the app's data folder names where its emails land, on either backend).
pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    pub mail: std::path::PathBuf,
    /// The emulator whose SES the app sends through, when not the run's shared one.
    pub emulator: Option<String>,
}

pub struct TestApp {
    pub browser: Browser,
    pub storage: Storage,
    pub data_dir: std::path::PathBuf,
    _temp: Option<Arc<Scratch>>,
    /// One per instance (two with `SKYHIGH_TEST_INSTANCES=2`).
    shutdowns: Vec<oneshot::Sender<()>>,
    servers: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// The random router in front of several instances.
    router: Option<tokio::task::JoinHandle<()>>,
}

/// How many instances each test app runs: `SKYHIGH_TEST_INSTANCES=2` runs two on the one shared
/// store (aws only) behind a router that sends each request to either at random, which shows
/// that nothing a request needs lives in one process.
fn instances() -> usize {
    let wanted = std::env::var("SKYHIGH_TEST_INSTANCES").ok().and_then(|n| n.parse().ok()).unwrap_or(1);
    assert!(wanted == 1 || on_aws(), "several instances share a store only on the aws backend");
    wanted
}

/// A reverse proxy on loopback that forwards each request to one of `backends` at random and
/// returns its address.
async fn random_router(backends: Vec<String>) -> (String, tokio::task::JoinHandle<()>) {
    use axum::body::Body;
    use axum::extract::Request;
    use axum::response::Response as AxumResponse;

    // Hop-by-hop headers, and the ones the client and server set for their own body. `Host`
    // goes through, as a load balancer passes it: the app checks `Origin` against it.
    const NOT_FORWARDED: [&str; 4] = ["connection", "content-length", "transfer-encoding", "keep-alive"];
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let forward = move |request: Request| {
        let (client, backends) = (client.clone(), backends.clone());
        async move {
            let backend = &backends[rand::random::<usize>() % backends.len()];
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
            let url = format!("{backend}{}", parts.uri.path_and_query().map_or("/", |p| p.as_str()));
            let mut outgoing = client.request(parts.method, url).body(body);
            for (name, value) in &parts.headers {
                if !NOT_FORWARDED.contains(&name.as_str()) {
                    outgoing = outgoing.header(name, value);
                }
            }
            let answer = outgoing.send().await.expect("an instance answers");
            let mut response = AxumResponse::builder().status(answer.status());
            for (name, value) in answer.headers() {
                if !NOT_FORWARDED.contains(&name.as_str()) {
                    response = response.header(name, value);
                }
            }
            response.body(Body::from(answer.bytes().await.unwrap_or_default())).unwrap()
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new().fallback(forward);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (address, task)
}

impl std::ops::Deref for TestApp {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with a tweaked configuration.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let temp = Arc::new(Scratch(tempfile::tempdir().expect("temp dir")));
        let mut app = Self::spawn_in(temp.0.path(), tweak).await;
        app._temp = Some(temp);
        app
    }

    /// Spawns on an existing data folder (to test what survives a restart).
    pub async fn spawn_in(data_dir: &Path, tweak: impl FnOnce(&mut Config)) -> Self {
        // `SKYHIGH_TEST_LOG=skyhigh=debug cargo test …` shows what the apps log.
        if let Ok(filter) = std::env::var("SKYHIGH_TEST_LOG") {
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
        let mut config = Config::for_tests(data_dir.to_path_buf());
        use_test_backend(&mut config, data_dir);
        tweak(&mut config);
        let (mut addresses, mut shutdowns, mut servers, mut storage) = (Vec::new(), Vec::new(), Vec::new(), None);
        for _ in 0..instances() {
            let app = Application::build(config.clone()).await.expect("app builds");
            addresses.push(format!("http://{}", app.local_addr()));
            storage.get_or_insert_with(|| app.state().storage.clone());
            let (shutdown, stopped) = oneshot::channel::<()>();
            servers.push(tokio::spawn(app.run_until(async {
                let _ = stopped.await;
            })));
            shutdowns.push(shutdown);
        }
        let (address, router) = match addresses.len() {
            1 => (addresses.remove(0), None),
            _ => {
                let (address, task) = random_router(addresses).await;
                (address, Some(task))
            }
        };
        Self {
            browser: Browser::new(address, data_dir),
            storage: storage.expect("at least one instance"),
            data_dir: data_dir.to_path_buf(),
            _temp: None,
            shutdowns,
            servers,
            router,
        }
    }

    /// Stops the server gracefully and waits for it to exit.
    pub async fn stop(mut self) {
        for shutdown in self.shutdowns.drain(..) {
            let _ = shutdown.send(());
        }
        for server in self.servers.drain(..) {
            server.await.expect("server task").expect("server exits cleanly");
        }
        if let Some(router) = self.router.take() {
            router.abort();
        }
    }

    /// A second browser: its own cookies, same server.
    pub fn new_browser(&self) -> Browser {
        Browser::new(self.address.clone(), &self.data_dir)
    }
}

/// A test's own data folder.
pub struct Scratch(tempfile::TempDir);

impl Drop for TestApp {
    fn drop(&mut self) {
        for shutdown in self.shutdowns.drain(..) {
            let _ = shutdown.send(());
        }
        if let Some(router) = self.router.take() {
            router.abort();
        }
    }
}

impl Browser {
    pub fn new(address: String, data_dir: &Path) -> Self {
        let jar = Arc::new(Jar::default());
        Self { address, client: client_with(jar.clone()), jar, mail: data_dir.to_path_buf(), emulator: None }
    }

    /// For an app that talks to an emulator of its own test.
    pub fn with_emulator(mut self, url: &str) -> Self {
        self.emulator = Some(url.to_owned());
        self
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("request sent")
    }

    /// The page's HTML, or None when the server did not answer 200 (it may be gone).
    pub async fn get_page(&self, path: &str) -> Option<String> {
        let response = self.client.get(self.url(path)).send().await.ok()?;
        if response.status() != StatusCode::OK {
            return None;
        }
        response.text().await.ok()
    }

    pub async fn get_html(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.expect("body")
    }

    /// The CSRF token from a page's form.
    pub async fn csrf_token(&self, page: &str) -> String {
        extract_csrf_token(&self.get_html(page).await).expect("page has a csrf_token field")
    }

    /// Posts a form the way a browser does: token from `page`, same-origin headers.
    pub async fn post_form(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        self.form_request(page, action, fields).await.send().await.expect("request sent")
    }

    /// The POST `post_form` sends (with the token from `page`), for a test to add headers to.
    pub async fn form_request(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let token = self.csrf_token(page).await;
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", &token)];
        form.extend_from_slice(fields);
        self.client
            .post(self.url(action))
            .header("origin", &self.address)
            .header("sec-fetch-site", "same-origin")
            .form(&form)
    }

    pub async fn signup(&self, email: &str, username: &str, password: &str) -> Response {
        self.post_form("/signup", "/signup", &[("email", email), ("username", username), ("password", password)]).await
    }

    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.post_form("/login", "/login", &[("login", login), ("password", password)]).await
    }

    /// Signs out (the sign-out form is in the header of every page for a signed-in user).
    pub async fn logout(&self) -> Response {
        self.post_form("/", "/logout", &[]).await
    }

    /// Signs up `username` (email `<username>@example.com`), confirms the address through the
    /// link emailed to it, and signs in: a new account as it is once its owner is through.
    pub async fn signed_up(&self, username: &str) {
        let email = format!("{username}@example.com");
        let response = self.signup(&email, username, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-up of {username} should succeed");
        assert_eq!(response.headers()["location"], "/signup/sent");
        self.confirm_email(&email).await;
        let response = self.login(username, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{username} signs in once confirmed");
    }

    /// Opens the newest confirmation link sent to `email` (waiting for it to arrive). It shows
    /// the sign-in form, or goes on at once where that account is signed in already.
    pub async fn confirm_email(&self, email: &str) {
        let link = confirmation_link_via(self.emulator.as_deref(), &self.mail, email).await;
        let response = self.get(&link).await;
        assert!(
            [StatusCode::OK, StatusCode::SEE_OTHER].contains(&response.status()),
            "the confirmation link {link} works: {}",
            response.status()
        );
    }

    /// Posts the editor's multipart form to `action` (`/memes` or `/memes/preview`).
    pub async fn post_meme_form(&self, action: &str, fields: &[(&str, &str)], image: Option<Vec<u8>>) -> Response {
        let token = self.csrf_token("/memes/new").await;
        let mut form = reqwest::multipart::Form::new().text("csrf_token", token);
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        if let Some(bytes) = image {
            form = form.part("image", reqwest::multipart::Part::bytes(bytes).file_name("upload.bin"));
        }
        self.client
            .post(self.url(action))
            .header("origin", &self.address)
            .multipart(form)
            .send()
            .await
            .expect("request sent")
    }

    /// Saves a meme on a template with `captions`; returns its id.
    pub async fn save_meme(&self, template: &str, captions: &[&str]) -> String {
        let mut fields = vec![("template", template), ("save", "1")];
        fields.extend(captions.iter().map(|c| ("caption", *c)));
        let response = self.post_meme_form("/memes", &fields, None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "saving a meme");
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        location.trim_start_matches("/memes/").to_owned()
    }

    /// Saves a remix of meme `parent` with `captions`; returns its id.
    pub async fn save_meme_remix(&self, parent: &str, captions: &[&str]) -> String {
        let mut fields = vec![("remix", parent), ("save", "1")];
        fields.extend(captions.iter().map(|c| ("caption", *c)));
        let response = self.post_meme_form("/memes", &fields, None).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "saving a remix");
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        location.trim_start_matches("/memes/").to_owned()
    }

    /// Posts a form found on `page` (for its token) to `action`, expecting a redirect.
    pub async fn act(&self, page: &str, action: &str, fields: &[(&str, &str)]) -> Response {
        self.post_form(page, action, fields).await
    }

    pub fn session_cookie(&self) -> Option<String> {
        cookie_value(&self.jar, &self.address, "skyhigh_session")
    }

    /// The username shown in the header, if the page says someone is signed in.
    pub async fn signed_in_as(&self) -> Option<String> {
        signed_in_user(&self.get_html("/").await)
    }
}

pub fn client_with(jar: Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client")
}

pub fn cookie_value(jar: &Jar, address: &str, name: &str) -> Option<String> {
    let url = Url::parse(address).ok()?;
    let header = jar.cookies(&url)?;
    header
        .to_str()
        .ok()?
        .split("; ")
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_owned())
}

/// The versioned URL of an embedded static file in a page (`/static/site.css?v=…`).
pub fn extract_asset_url(html: &str, name: &str) -> String {
    let start = html.find(&format!("/static/{name}")).unwrap_or_else(|| panic!("no {name} in the page"));
    html[start..].split('"').next().unwrap().to_owned()
}

pub fn extract_csrf_token(html: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

pub fn signed_in_user(html: &str) -> Option<String> {
    let marker = "Signed in as </span><strong>";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('<')?;
    Some(html[start..start + end].to_owned())
}

/// Replaces every CSRF token (masked afresh on each render) so two pages can be compared.
pub fn without_csrf_tokens(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let marker = r#"name="csrf_token" value=""#;
    while let Some(i) = rest.find(marker) {
        out.push_str(&rest[..i + marker.len()]);
        rest = &rest[i + marker.len()..];
        let end = rest.find('"').unwrap_or(0);
        out.push_str("TOKEN");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A small real PNG (a gradient), for uploads.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128])
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).expect("encode png");
    bytes.into_inner()
}

/// The `.eml` files in an app's outbox folder.
/// Whether this run of the suite is on the aws backend. `scripts/test` runs the HTTP suite
/// twice: on the local backend, then with `SKYHIGH_TEST_BACKEND=aws` against the moto emulator
/// it started (`AWS_ENDPOINT_URL`).
pub fn on_aws() -> bool {
    std::env::var("SKYHIGH_TEST_BACKEND").as_deref() == Ok("aws")
}

/// The prefix of the tables, bucket and topics of an app on the aws backend, derived from its
/// data folder: a restart on the same folder finds the same tables; other tests never do.
pub fn aws_prefix(data_dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut hasher);
    format!("t{:016x}-", hasher.finish())
}

/// The settings (as environment variables) that put an app on this run's backend.
pub fn backend_env(data_dir: &Path) -> Vec<(&'static str, String)> {
    if !on_aws() {
        return vec![("SKYHIGH_BACKEND", "local".into())];
    }
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(endpoint.starts_with("http://127.0.0.1:"), "the aws run needs the moto server on loopback (scripts/test)");
    let prefix = aws_prefix(data_dir);
    vec![
        ("SKYHIGH_BACKEND", "aws".into()),
        ("SKYHIGH_TABLE_PREFIX", prefix.clone()),
        ("SKYHIGH_BUCKET", format!("skyhigh-{}", prefix.trim_end_matches('-'))),
        ("SKYHIGH_EVENTS_TOPIC", format!("{prefix}events")),
        ("SKYHIGH_DELIVERY_QUEUE", format!("{prefix}deliveries")),
        // Every app in the run shares one emulator: its sender tells its emails apart.
        ("SKYHIGH_MAIL_FROM", format!("Sky-High Memes <{}>", sender_address(data_dir))),
        ("SKYHIGH_CREATE_RESOURCES", "true".into()),
    ]
}

fn use_test_backend(config: &mut Config, data_dir: &Path) {
    for (name, value) in backend_env(data_dir) {
        match name {
            "SKYHIGH_BACKEND" if value == "aws" => config.backend = skyhigh::config::Backend::Aws,
            "SKYHIGH_TABLE_PREFIX" => config.table_prefix = value,
            "SKYHIGH_BUCKET" => config.bucket = Some(value),
            "SKYHIGH_EVENTS_TOPIC" => config.events_topic = value,
            "SKYHIGH_DELIVERY_QUEUE" => config.delivery_queue = value,
            "SKYHIGH_MAIL_FROM" => config.mail_from = value,
            "SKYHIGH_CREATE_RESOURCES" => config.create_resources = true,
            _ => {}
        }
    }
}

/// The address an app on the aws backend sends from (unique per data folder).
pub fn sender_address(data_dir: &Path) -> String {
    format!("no-reply@{}.example.com", aws_prefix(data_dir).trim_end_matches('-'))
}

/// Every email the app with this data folder sent, as raw MIME: on the local backend the
/// `.eml` files of its outbox folder, on aws the messages the emulator's SES recorded from its
/// sender.
pub async fn sent_mail(data_dir: &Path) -> Vec<String> {
    sent_mail_via(None, data_dir).await
}

/// `sent_mail`, reading SES messages from `emulator` rather than the run's shared one.
pub async fn sent_mail_via(emulator: Option<&str>, data_dir: &Path) -> Vec<String> {
    if !on_aws() {
        return outbox_files(data_dir).iter().map(|f| std::fs::read_to_string(f).expect("read .eml")).collect();
    }
    let endpoint = match emulator {
        Some(url) => url.to_owned(),
        None => std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL"),
    };
    let sender = sender_address(data_dir);
    ses_messages(&endpoint)
        .await
        .iter()
        .filter(|(source, _)| source.contains(&sender))
        .map(|(_, raw)| raw.clone())
        .collect()
}

/// What the emulator's SES recorded as sent: (source, raw MIME) pairs. The emulator shows them
/// only in its whole-state dump, which grows with every table the run made, so the tests of
/// one process share one reading for a quarter of a second instead of each asking for it.
async fn ses_messages(endpoint: &str) -> Arc<Vec<(String, String)>> {
    type Reading = (String, Instant, Arc<Vec<(String, String)>>);
    static LAST: tokio::sync::Mutex<Option<Reading>> = tokio::sync::Mutex::const_new(None);
    let mut last = LAST.lock().await;
    if let Some((from, at, messages)) = last.as_ref()
        && from == endpoint
        && at.elapsed() < Duration::from_millis(250)
    {
        return messages.clone();
    }
    // A dump taken while another service's state changes can fail (moto iterates live
    // dictionaries); the next one succeeds.
    let mut data = serde_json::Value::Null;
    for attempt in 1..=5 {
        let answer = reqwest::get(format!("{endpoint}/moto-api/data.json")).await.expect("moto answers");
        match answer.json::<serde_json::Value>().await {
            Ok(value) => {
                data = value;
                break;
            }
            Err(e) if attempt == 5 => panic!("moto's data is not JSON five times running: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let messages: Vec<(String, String)> = data["ses"]["RawMessage"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| Some((m["source"].as_str()?.to_owned(), m["raw_data"].as_str()?.to_owned())))
        .collect();
    let messages = Arc::new(messages);
    *last = Some((endpoint.to_owned(), Instant::now(), messages.clone()));
    messages
}

/// The emails to `address`, each as its headers and its decoded text part.
pub async fn mail_to(data_dir: &Path, address: &str) -> Vec<String> {
    mail_to_via(None, data_dir, address).await
}

async fn mail_to_via(emulator: Option<&str>, data_dir: &Path, address: &str) -> Vec<String> {
    sent_mail_via(emulator, data_dir)
        .await
        .into_iter()
        .filter(|raw| is_to(raw, address))
        .map(|raw| readable(&raw))
        .collect()
}

fn is_to(raw: &str, address: &str) -> bool {
    raw.lines().take_while(|l| !l.is_empty()).any(|l| l.starts_with("To:") && l.contains(&format!("<{address}>")))
}

/// Headers, then the body with quoted-printable undone (soft breaks joined, `=XX` decoded), so
/// links and phrases can be searched for.
pub fn readable(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'='
            && let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path of the newest confirmation link emailed to `address`, waiting for it (bounded).
pub async fn confirmation_link(data_dir: &Path, address: &str) -> String {
    confirmation_link_via(None, data_dir, address).await
}

async fn confirmation_link_via(emulator: Option<&str>, data_dir: &Path, address: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let links: Vec<String> = mail_to_via(emulator, data_dir, address)
            .await
            .iter()
            .filter_map(|mail| {
                let start = mail.find("/verify/")?;
                let end = mail[start..].find(|c: char| c.is_whitespace() || c == '"' || c == '<')? + start;
                Some(mail[start..end].to_owned())
            })
            .collect();
        if let Some(link) = links.into_iter().max_by_key(|l| l.len()) {
            return link;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no confirmation email reached {address} within 30 s");
}

/// The notification emails about `creator`'s memes, decoded.
pub async fn sent_emails(data_dir: &Path, creator: &str) -> Vec<String> {
    let subject = format!("Subject: {creator} posted a new meme");
    sent_mail(data_dir).await.into_iter().map(|raw| readable(&raw)).filter(|m| m.contains(&subject)).collect()
}

pub fn outbox_files(data_dir: &Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(data_dir.join("outbox")) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Waits (bounded, 30 s: a busy CI machine) until `check` holds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Waits (bounded, 30 s: on aws a save's email passes a relay, a topic, a queue and SES) until
/// the asynchronous `check` holds.
pub async fn eventually_async<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// A moto server of the test's own, so pausing it disturbs no other test.
pub struct Emulator {
    process: std::process::Child,
    pub url: String,
}

impl Emulator {
    /// Starts it and waits until it answers: Python takes seconds to start on a busy
    /// machine, and the app's start-up would fail against a port nobody listens on yet.
    pub async fn start() -> Self {
        let port = free_port();
        // moto's server as scripts/moto runs it (DynamoDB atomic, as the real one is).
        let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
        let server = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/moto_server.py");
        let process = std::process::Command::new(python)
            // It stops by itself if this test process is killed before its Drop runs.
            .args([server, "127.0.0.1", &port.to_string(), "--exit-with-parent"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto_server from .venv (scripts/test installs it)");
        let mut emulator = Self { process, url: format!("http://127.0.0.1:{port}") };
        let ready = format!("{}/moto-api/", emulator.url);
        wait_until_ok("moto_server", &ready, &mut emulator.process).await;
        emulator
    }

    /// SIGSTOP: the port still accepts connections but nothing answers, as when AWS is
    /// unreachable behind a black hole. (Killing it would lose its in-memory data.)
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        send_signal(self.process.id(), signal);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.resume();
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Sends `signal` (as `kill` spells it: "-TERM", "-STOP", …) to process `pid`.
pub fn send_signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill").args([signal, &pid.to_string()]).status().expect("run kill");
    assert!(status.success(), "kill {signal} {pid}");
}

/// Polls `url` until it answers 200, failing at once if `process` exits and after a
/// generous bound otherwise (start-up creates tables and a bucket on a busy CI machine).
pub async fn wait_until_ok(name: &str, url: &str, process: &mut std::process::Child) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Some(status) = process.try_wait().unwrap() {
            panic!("{name} exited during start-up: {status}");
        }
        if client.get(url).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{name} did not answer {url} within 60 s");
}

/// The real binary as its own process on the test backend, for what only a process has
/// (signals, an emulator of its own). Killed when dropped.
pub struct ServerProcess {
    child: std::process::Child,
    pub address: String,
}

impl ServerProcess {
    /// Starts it with its data in `data` and `env` on top, and waits until it is healthy.
    pub async fn start(data: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_on(free_port(), data, env).await
    }

    /// The same on a chosen port (so browsers keep their cookies across restarts).
    pub async fn start_on(port: u16, data: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_with_output(port, data, env, std::process::Stdio::null()).await
    }

    /// Starts it logging at the default level (INFO, access log included) into `log`.
    pub async fn start_logging_to(log: &Path, data: &Path, env: &[(&str, &str)]) -> Self {
        let file = std::fs::File::create(log).expect("create the log file");
        let env: Vec<(&str, &str)> = [("RUST_LOG", "info")].into_iter().chain(env.iter().copied()).collect();
        Self::start_with_output(free_port(), data, &env, file.into()).await
    }

    async fn start_with_output(port: u16, data: &Path, env: &[(&str, &str)], stdout: std::process::Stdio) -> Self {
        let address = format!("127.0.0.1:{port}");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_skyhigh"))
            .envs(backend_env(data))
            .env("SKYHIGH_DATA_DIR", data)
            .env("SKYHIGH_ADDR", &address)
            .env("RUST_LOG", "error")
            .envs(env.iter().copied())
            .stdout(stdout)
            .spawn()
            .expect("start skyhigh");
        wait_until_ok("skyhigh", &format!("http://{address}/healthz"), &mut child).await;
        Self { child, address: format!("http://{address}") }
    }

    pub fn signal(&self, signal: &str) {
        send_signal(self.child.id(), signal);
    }

    /// `kill -9`: no shutdown code runs, as in a power cut or an OOM kill.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// How it ended, waiting at most `within`.
    pub async fn exit_status(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {within:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
