//! Building the application and serving it until a shutdown signal.
//!
//! Connections are served through hyper-util with a timer, because `axum::serve` installs no
//! timer and so never enforces a header-read timeout: without one, a client that dribbles its
//! headers a byte at a time holds a connection forever (slowloris).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::auth::{ApiWriteLimit, LoginThrottle, PasswordHasher, RenderLimit, SignupLimit};
use crate::config::{Backend, Config};
use crate::connection::TimedConnection;
use crate::notify::{DeliveryWorker, EmailSender, FileSender, Mailer, SesSender, SmtpSender, Wake, WorkerSettings};
use crate::render::Engine;
use crate::services::memes::Renderer;
use crate::services::memes_by_url::UrlCache;
use crate::services::notifications::UnreadBadges;
use crate::storage::{self, Storage};
use crate::web::cursor::CursorSigner;
use crate::web::page_cache::PageCache;
use crate::web::{self, App, AppState, REQUEST_TIMEOUT};

/// Concurrent argon2 computations: one per core keeps sign-in bursts from starving pages.
const PASSWORD_HASHING_SLOTS: usize = 2;
/// Concurrent renders (CPU-bound): one per core.
const RENDER_SLOTS: usize = 2;
/// Rendered memes-by-URL kept in memory: some hundreds of popular ones at display size.
const URL_CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// Anonymous pages kept rendered and compressed: about a thousand pages of 20 KB.
const PAGE_CACHE_BYTES: u64 = 24 * 1024 * 1024;
/// On aws, other instances' writes do not reach this one's page cache: its pages (and
/// CloudFront's copies of them) are at most this old.
const SHARED_PAGE_TTL: Duration = Duration::from_secs(1);
/// On aws, how old an instance's copy of a user's unread count may be before a page view reads
/// it again in the background (`UnreadBadges`).
const UNREAD_REFRESH_AFTER: Duration = Duration::from_secs(15);
const SESSION_SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);
/// Crash debris is looked for at start-up, then this often, judging only what is at least
/// this old (a save in flight writes its media moments before its record).
const DEBRIS_SWEEP_EVERY: Duration = Duration::from_secs(60 * 60);

pub struct Application {
    listener: TcpListener,
    /// `SKYHIGH_METRICS_ADDR`'s listener, with the recorder the metrics are kept in.
    metrics: Option<(TcpListener, metrics_exporter_prometheus::PrometheusHandle)>,
    state: AppState,
    mailer: Arc<Mailer>,
    sender: Arc<dyn EmailSender>,
}

impl Application {
    /// Opens storage, binds the listener (port 0 picks a free port) and wires the app.
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        // First, so that metric handles made while storage opens record into the recorder.
        let metrics = match config.metrics_addr {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on SKYHIGH_METRICS_ADDR {addr}"))?;
                Some((listener, crate::telemetry::metrics::install()?))
            }
            None => None,
        };
        // The static files' compressed forms, made beside start-up rather than in a request.
        tokio::task::spawn_blocking(web::pages::static_files::compress_all);
        let (storage, aws) = open_storage(&config).await?;
        storage.health.check().await.context("the storage backend does not answer")?;
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on SKYHIGH_ADDR {}", config.addr))?;
        config.addr = listener.local_addr()?;
        let mailer = Arc::new(Mailer::from_config(&config)?);
        // Built now so a bad SKYHIGH_SMTP_URL stops start-up instead of failing every email.
        let sender: Arc<dyn EmailSender> = match (&config.smtp_url, &aws) {
            (Some(url), _) => Arc::new(SmtpSender::from_url(url)?),
            (None, Some(clients)) => {
                storage::aws::ensure_sender_identity(clients, &mailer.from_address(), config.create_resources).await?;
                Arc::new(SesSender::new(
                    clients.ses.clone(),
                    config.mail_from.clone(),
                    aws_settings(&config).mail_configuration_set(),
                ))
            }
            (None, None) => Arc::new(FileSender::new(config.data_dir.join("outbox"))),
        };
        let cursor_key = storage.settings.get_or_init("cursor-signing-key", &random_key()).await?;
        let engine = Arc::new(Engine::new().context("loading the meme engine's fonts")?);
        let login_throttle = LoginThrottle::new(storage.counters.clone());
        let signup_limit = SignupLimit::new(storage.counters.clone(), config.signups_per_hour);
        let render_limit = RenderLimit::new(config.renders_per_minute);
        let api_writes = ApiWriteLimit::new(storage.counters.clone(), config.api_writes_per_minute);
        let page_cache = page_cache(&config);
        let badges = match config.backend {
            crate::config::Backend::Local => UnreadBadges::read_each_time(),
            crate::config::Backend::Aws => UnreadBadges::remembered(UNREAD_REFRESH_AFTER),
        };
        // Sessions are remembered in memory only where every change to them passes through
        // this process (the local backend; on aws other instances change them too).
        let remember_sessions = config.backend == crate::config::Backend::Local;
        let state = AppState::new(App {
            sessions: web::session::SessionStoreAdapter::new(storage.sessions.clone(), remember_sessions),
            config: Arc::new(config),
            storage,
            passwords: PasswordHasher::new(PASSWORD_HASHING_SLOTS)?,
            login_throttle,
            signup_limit,
            renderer: Renderer::new(engine, RENDER_SLOTS),
            cursors: Arc::new(CursorSigner::new(cursor_key)),
            wake: Wake::default(),
            url_cache: UrlCache::new(URL_CACHE_BYTES),
            page_cache,
            render_limit,
            api_writes,
            badges,
        });
        Ok(Self { listener, metrics, state, mailer, sender })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.state.config.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish
    /// (bounded by the request timeout) and stops the background tasks.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let Self { listener, metrics, state, mailer, sender } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut background = spawn_background_tasks(&state, mailer, sender, stop_rx.clone());
        if let Some((listener, handle)) = metrics {
            let upkeep = handle.clone();
            background.push(spawn_periodic("metrics upkeep", METRICS_UPKEEP_EVERY, stop_rx.clone(), move || {
                let upkeep = upkeep.clone();
                async move { upkeep.run_upkeep() }
            }));
            background.push(serve_metrics(listener, web::metrics::router(state.clone(), handle), stop_rx));
        }

        let router = web::router(state.clone());
        // HTTP/1 only. Browsers speak HTTP/2 only over TLS, which ends at the load balancer,
        // and auto-detecting the version reads the connection's first bytes with no timeout:
        // a client that connected and sent nothing would hold its connection forever. Serving
        // HTTP/1 directly puts every byte under the header-read timer.
        let mut http = auto::Builder::new(TokioExecutor::new()).http1_only();
        // The header and keep-alive timeouts are the connection's (`connection.rs`); hyper's own
        // header timer, which also runs while a connection idles, only backs them up.
        let (header_timeout, keep_alive) = (state.config.header_timeout(), state.config.keep_alive());
        http.http1().timer(TokioTimer::new()).header_read_timeout(keep_alive + header_timeout).keep_alive(true);
        let graceful = GracefulShutdown::new();

        tracing::info!(addr = %state.config.addr, base_url = %state.config.base_url(), "Sky-High Memes is listening");
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(connection) => connection,
                    Err(e) => {
                        // Running out of file descriptors must not end the server; back off.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let _ = stream.set_nodelay(true);
            let service = router.clone().map_request(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
            let stream = TimedConnection::new(stream, header_timeout, keep_alive);
            let connection =
                http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service)).into_owned();
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(%peer, error = %e, "connection closed with an error");
                }
            });
        }

        tracing::info!("shutting down: finishing in-flight requests");
        drop(listener);
        let _ = stop_tx.send(true);
        if tokio::time::timeout(REQUEST_TIMEOUT + Duration::from_secs(5), graceful.shutdown()).await.is_err() {
            tracing::warn!("some connections were still open at the shutdown deadline");
        }
        for task in background {
            let _ = task.await;
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// Serves the metrics router until `stop` flips. Scrapes are tiny and come from one
/// Prometheus, so plain `axum::serve` (no timeouts of its own) is enough here.
fn serve_metrics(
    listener: TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "serving metrics");
    }
    tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(stopped).await {
            tracing::warn!(error = %e, "the metrics listener failed");
        }
    })
}

/// How often the recorder folds recorded samples into its histograms. Between scrapes they
/// pile up (a few bytes a request), so this bounds their memory even when nobody scrapes.
const METRICS_UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The backend's stores, and on aws the SDK clients (SES sends the emails).
async fn open_storage(config: &Config) -> anyhow::Result<(Storage, Option<storage::aws::Clients>)> {
    match config.backend {
        Backend::Local => Ok((storage::local::open(&config.data_dir)?, None)),
        Backend::Aws => {
            let (storage, clients) = storage::aws::open(&aws_settings(config)).await?;
            Ok((storage, Some(clients)))
        }
    }
}

/// Locally every write passes through this process, which keeps its pages current; on aws other
/// instances write too, so pages are kept (here and by CloudFront) a second at most.
fn page_cache(config: &Config) -> PageCache {
    match config.backend {
        Backend::Local => PageCache::new(PAGE_CACHE_BYTES, None, None),
        Backend::Aws => PageCache::new(PAGE_CACHE_BYTES, Some(SHARED_PAGE_TTL), Some(SHARED_PAGE_TTL.as_secs() as u32)),
    }
}

fn aws_settings(config: &Config) -> storage::aws::AwsSettings {
    storage::aws::AwsSettings {
        table_prefix: config.table_prefix.clone(),
        // `Config::validate` has already refused an aws backend without a bucket.
        bucket: config.bucket.clone().unwrap_or_default(),
        create_resources: config.create_resources,
        events_topic: config.events_topic.clone(),
        delivery_queue: config.delivery_queue.clone(),
        cloudfront_distribution: config.cloudfront_distribution.clone(),
        ses_configuration_set: config.ses_configuration_set.clone(),
    }
}

/// Periodic housekeeping, each loop ending when `stop` flips.
fn spawn_background_tasks(
    state: &AppState,
    mailer: Arc<Mailer>,
    sender: Arc<dyn EmailSender>,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let sessions = state.storage.sessions.clone();
    let mut tasks = Vec::new();
    if let Some(debris) = state.storage.debris.clone() {
        // The first sweep judges everything made before this process started: nothing older
        // can be a save of ours in flight. Later sweeps judge what is an hour old.
        let started = time::OffsetDateTime::now_utc();
        let mut first = true;
        tasks.push(spawn_periodic("debris sweep", DEBRIS_SWEEP_EVERY, stop.clone(), move || {
            let debris = debris.clone();
            let cutoff =
                if std::mem::take(&mut first) { started } else { time::OffsetDateTime::now_utc() - DEBRIS_SWEEP_EVERY };
            async move {
                match debris.sweep(cutoff).await {
                    Ok(report) => tracing::info!(
                        temp_files = report.temp_files,
                        orphan_media = report.orphan_media,
                        expired_rows = report.expired_rows,
                        "swept crash debris and expired rows"
                    ),
                    Err(e) => tracing::warn!(error = %e, "sweeping crash debris failed"),
                }
            }
        }));
    }
    if state.config.run_workers {
        let worker = DeliveryWorker {
            storage: state.storage.clone(),
            mailer,
            sender,
            wake: state.wake.clone(),
            settings: WorkerSettings {
                hidden_for: Duration::from_secs(state.config.job_timeout_secs),
                hourly_cap: state.config.emails_per_hour,
                ..WorkerSettings::default()
            },
        };
        tasks.extend(worker.spawn(stop.clone()));
    }
    tasks.push(spawn_periodic("session sweep", SESSION_SWEEP_EVERY, stop.clone(), move || {
        let sessions = sessions.clone();
        async move {
            match sessions.delete_expired(time::OffsetDateTime::now_utc()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "removed expired sessions"),
                Err(e) => tracing::warn!(error = %e, "sweeping expired sessions failed"),
            }
        }
    }));
    tasks
}

fn random_key() -> Vec<u8> {
    use rand::RngCore;
    let mut key = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    key
}

fn spawn_periodic<F, Fut>(
    name: &'static str,
    every: Duration,
    mut stop: watch::Receiver<bool>,
    mut work: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = ticker.tick() => work().await,
                _ = stop.changed() => break,
            }
        }
        tracing::debug!(task = name, "background task stopped");
    })
}
