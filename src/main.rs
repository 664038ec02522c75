//! Wiring only: parse the configuration, build the application, run until a signal.

use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: under load, glibc spent about a fifth of the CPU in
/// malloc/free (consolidating freed response buffers); mimalloc's thread-local free lists don't.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use skyhigh::config::Config;
use skyhigh::startup::Application;

#[derive(Parser)]
#[command(name = "skyhigh", version, about = "Sky-High Memes: make, share and follow memes")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site (the default).
    Serve,
    /// Exit 0 if the server at SKYHIGH_ADDR answers /healthz with 200, else 1 (the container's
    /// HEALTHCHECK: no curl needed in the image).
    Healthcheck,
    /// Caption an image from the command line: `skyhigh render --template chelsea --caption …`.
    Render(skyhigh::render::cli::RenderArgs),
    /// Fill a local data folder with many memes (for load tests).
    Seed(skyhigh::seed::SeedArgs),
}

/// mimalloc's `mi_option_purge_delay` (its index in `mi_option_e`, mimalloc.h of v3, which this
/// crate builds; the Rust bindings do not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> ExitCode {
    // Freed pages go back to the OS 10 ms after a burst instead of mimalloc v3's default second:
    // 16 parallel 40 MP uploads then peak at ~115 MB resident instead of ~145 (BENCHMARKS.md).
    // SAFETY: setting an option is a plain store mimalloc documents as callable at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10) };
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&one_line(&e.to_string())),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config),
        Command::Healthcheck => healthcheck(&cli.config),
        Command::Render(args) => match skyhigh::render::cli::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("{e:#}")),
        },
        Command::Seed(args) => {
            let seeded = tokio::runtime::Runtime::new()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(skyhigh::seed::run(args)));
            match seeded {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&format!("{e:#}")),
            }
        }
    }
}

/// One GET of /healthz on the configured address (0.0.0.0 means this machine), over plain
/// HTTP/1.1 with a 3 s budget.
fn healthcheck(config: &Config) -> ExitCode {
    use std::io::{Read, Write};
    let mut addr = config.addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let budget = std::time::Duration::from_secs(3);
    let answer = (|| -> std::io::Result<String> {
        let mut stream = std::net::TcpStream::connect_timeout(&addr, budget)?;
        stream.set_read_timeout(Some(budget))?;
        stream.set_write_timeout(Some(budget))?;
        write!(stream, "GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 64];
        let n = stream.read(&mut head)?;
        Ok(String::from_utf8_lossy(&head[..n]).into_owned())
    })();
    match answer {
        Ok(status) if status.starts_with("HTTP/1.1 200") => ExitCode::SUCCESS,
        Ok(status) => fail(&format!("unhealthy: {}", status.lines().next().unwrap_or("no answer"))),
        Err(e) => fail(&format!("unhealthy: cannot reach {addr}: {e}")),
    }
}

fn serve(config: Config) -> ExitCode {
    if let Err(problem) = config.validate() {
        return fail(&problem);
    }
    // Held to the end of `serve`: dropping it writes out the last lines.
    let _log_writer = skyhigh::telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(async {
        let app = match Application::build(config).await {
            Ok(app) => app,
            Err(e) => return fail(&format!("{e:#}")),
        };
        match app.run_until(shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("{e:#}")),
        }
    })
}

/// One clear line on stderr, no panic trace.
fn fail(message: &str) -> ExitCode {
    eprintln!("skyhigh: {message}");
    ExitCode::FAILURE
}

/// clap's multi-line message as one line, keeping what it names (a missing argument is on the
/// line after "not provided:") and dropping its usage and help hints.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .trim_start_matches("error: ")
        .to_owned()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
