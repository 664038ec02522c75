//! `skyhigh render`: the engine from the command line, for users and for benchmarks.

use super::{Engine, FontChoice, Layout, MemeSpec, Outputs, Source, templates};
use anyhow::{Context, bail};
use std::path::PathBuf;

/// Caption an image: `skyhigh render --template chelsea --caption "top" --caption "bottom" -o out.jpg`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["template", "image"])))]
pub struct RenderArgs {
    /// A builtin template id (see --list-templates).
    #[arg(long)]
    pub template: Option<String>,
    /// An image file (PNG, JPEG, BMP, GIF, WebP).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// A caption; repeat for more boxes (first is the top).
    #[arg(long = "caption", short = 'c')]
    pub captions: Vec<String>,
    /// Font: anton, oswald, comic-neue, noto-sans, archivo-black.
    #[arg(long, default_value = "anton")]
    pub font: String,
    /// classic (text on the image) or modern (white band above).
    #[arg(long, default_value = "classic")]
    pub layout: String,
    /// Which size to write: display (≤1200), preview (≤600) or thumbnail (≤300).
    #[arg(long, default_value = "display")]
    pub size: String,
    /// Output file (.jpg, or .gif for animated input).
    #[arg(short = 'o', long)]
    pub output: PathBuf,
}

/// Runs the render subcommand.
pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let engine = Engine::new().context("loading the embedded fonts")?;
    let font: FontChoice = args.font.parse()?;
    let layout: Layout = args.layout.parse()?;
    let outputs = match args.size.as_str() {
        "display" => Outputs::DISPLAY,
        "preview" => Outputs::PREVIEW,
        "thumbnail" => Outputs::THUMBNAIL,
        other => bail!("unknown size {other:?}: use display, preview or thumbnail"),
    };
    let bytes;
    let (source, base_spec) = match (&args.template, &args.image) {
        (Some(id), _) => {
            let t = templates::find(id).with_context(|| {
                let ids: Vec<_> = templates::catalog().iter().map(|t| t.id).collect();
                format!("unknown template {id:?}; available: {}", ids.join(", "))
            })?;
            (Source::Template(id), t.spec(&args.captions))
        }
        (None, Some(path)) => {
            bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            (Source::Upload(&bytes), MemeSpec::classic(&args.captions))
        }
        (None, None) => bail!("give --template NAME or --image FILE"),
    };
    let spec = match layout {
        Layout::Classic => base_spec,
        Layout::Modern => MemeSpec::modern(&args.captions),
    };
    let spec = spec.with_font(font);
    let out = engine
        .render(source, &spec, outputs)
        .context("rendering the meme")?;
    let encoded = out
        .display
        .or(out.preview)
        .or(out.thumbnail)
        .context("no output produced")?;
    std::fs::write(&args.output, &encoded.bytes)
        .with_context(|| format!("writing {}", args.output.display()))?;
    println!(
        "{}: {}×{} {} ({} bytes)",
        args.output.display(),
        encoded.width,
        encoded.height,
        encoded.mime,
        encoded.bytes.len()
    );
    Ok(())
}
