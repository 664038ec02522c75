//! Minimal entry point so `skyhigh render …` works while the web app is wired elsewhere.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "skyhigh", about = "Sky-High Memes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Caption an image from the command line.
    Render(skyhigh::render::cli::RenderArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Render(args) => skyhigh::render::cli::run(args),
    }
}
