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

/// One browser: its own cookie jar, talking to the app.
pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
}

pub struct TestApp {
    pub browser: Browser,
    pub storage: Storage,
    pub data_dir: std::path::PathBuf,
    _temp: Option<Arc<tempfile::TempDir>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
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
        let temp = Arc::new(tempfile::tempdir().expect("temp dir"));
        let mut app = Self::spawn_in(temp.path(), tweak).await;
        app._temp = Some(temp);
        app
    }

    /// Spawns on an existing data folder (to test what survives a restart).
    pub async fn spawn_in(data_dir: &Path, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_tests(data_dir.to_path_buf());
        use_test_backend(&mut config, data_dir);
        tweak(&mut config);
        let app = Application::build(config).await.expect("app builds");
        let address = format!("http://{}", app.local_addr());
        let storage = app.state().storage.clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Self {
            browser: Browser::new(address),
            storage,
            data_dir: data_dir.to_path_buf(),
            _temp: None,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// Stops the server gracefully and waits for it to exit.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server exits cleanly");
        }
    }

    /// A second browser: its own cookies, same server.
    pub fn new_browser(&self) -> Browser {
        Browser::new(self.address.clone())
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl Browser {
    pub fn new(address: String) -> Self {
        let jar = Arc::new(Jar::default());
        Self { address, client: client_with(jar.clone()), jar }
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

    /// Signs up `username` (email `<username>@example.com`) and expects success.
    pub async fn signed_up(&self, username: &str) {
        let response = self.signup(&format!("{username}@example.com"), username, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-up of {username} should succeed");
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
        ("SKYHIGH_TOPIC_PREFIX", prefix),
        ("SKYHIGH_CREATE_RESOURCES", "true".into()),
    ]
}

fn use_test_backend(config: &mut Config, data_dir: &Path) {
    for (name, value) in backend_env(data_dir) {
        match name {
            "SKYHIGH_BACKEND" if value == "aws" => config.backend = skyhigh::config::Backend::Aws,
            "SKYHIGH_TABLE_PREFIX" => config.table_prefix = value,
            "SKYHIGH_BUCKET" => config.bucket = Some(value),
            "SKYHIGH_TOPIC_PREFIX" => config.topic_prefix = value,
            "SKYHIGH_CREATE_RESOURCES" => config.create_resources = true,
            _ => {}
        }
    }
}

/// The notification emails sent about `creator`'s memes: on the local backend the `.eml` files
/// in the outbox folder, on aws the messages published to the creator's SNS topic (read from
/// the emulator's record of them).
pub async fn sent_emails(data_dir: &Path, creator: &str) -> Vec<String> {
    if !on_aws() {
        return outbox_files(data_dir).iter().map(|f| std::fs::read_to_string(f).expect("read .eml")).collect();
    }
    let topic = format!("{}{creator}", aws_prefix(data_dir));
    sns_messages(&topic).await
}

/// What the moto emulator recorded as published to the topic named `topic`.
pub async fn sns_messages(topic: &str) -> Vec<String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .expect("moto answers")
        .json()
        .await
        .expect("moto's data is JSON");
    let topics = data["sns"]["Topic"].as_array().cloned().unwrap_or_default();
    topics
        .iter()
        .filter(|t| t["name"] == topic)
        .flat_map(|t| t["sent_notifications"].as_array().cloned().unwrap_or_default())
        .map(|sent| format!("Subject: {}\n\n{}", sent[2].as_str().unwrap_or(""), sent[1].as_str().unwrap_or("")))
        .collect()
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

/// Waits (bounded) until `check` holds.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Waits (bounded) until the asynchronous `check` holds.
pub async fn eventually_async<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
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
        let address = format!("127.0.0.1:{port}");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_skyhigh"))
            .envs(backend_env(data))
            .env("SKYHIGH_DATA_DIR", data)
            .env("SKYHIGH_ADDR", &address)
            .env("RUST_LOG", "error")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
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
