//! `skyhigh render`: the engine from the command line, for users and for benchmarks.

use super::{Engine, FontChoice, Layout, MemeSpec, Outputs, Source, templates};
use anyhow::{Context, bail};
use std::path::PathBuf;

/// Caption an image: `skyhigh render --template chelsea --caption "top" --caption "bottom" -o out.jpg`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["template", "image"])))]
pub struct RenderArgs {
    /// A builtin template id (an unknown one gets the list of them).
    #[arg(long)]
    pub template: Option<String>,
    /// An image file (PNG, JPEG, BMP, GIF, WebP).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// A caption; repeat for more boxes (first is the top).
    #[arg(long = "caption", short = 'c')]
    pub captions: Vec<String>,
    /// Font for every box: anton, oswald, comic-neue, noto-sans, archivo-black. By default
    /// each layout keeps its own (Anton for classic, Noto Sans for modern).
    #[arg(long)]
    pub font: Option<String>,
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
    let font: Option<FontChoice> = args.font.as_deref().map(str::parse).transpose()?;
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
    let spec = spec_for(base_spec, layout, font, &args.captions);
    let out = engine.render(source, &spec, outputs).context("rendering the meme")?;
    let encoded = out.display.or(out.preview).or(out.thumbnail).context("no output produced")?;
    std::fs::write(&args.output, &encoded.bytes).with_context(|| format!("writing {}", args.output.display()))?;
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

/// The description drawn: the source's own layout, or the modern one, with the font the user
/// named (if any) on every box.
fn spec_for(base: MemeSpec, layout: Layout, font: Option<FontChoice>, captions: &[String]) -> MemeSpec {
    let spec = match layout {
        Layout::Classic => base,
        Layout::Modern => MemeSpec::modern(captions),
    };
    match font {
        Some(font) => spec.with_font(font),
        None => spec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captions() -> Vec<String> {
        vec!["top".into(), "bottom".into()]
    }

    #[test]
    fn each_layout_keeps_its_own_font_unless_one_is_named() {
        let modern = spec_for(MemeSpec::classic(&captions()), Layout::Modern, None, &captions());
        assert!(modern.boxes.iter().all(|b| b.font == FontChoice::NotoSans));
        let classic = spec_for(MemeSpec::classic(&captions()), Layout::Classic, None, &captions());
        assert!(classic.boxes.iter().all(|b| b.font == FontChoice::Anton));
        let named = spec_for(MemeSpec::classic(&captions()), Layout::Modern, Some(FontChoice::Oswald), &captions());
        assert!(named.boxes.iter().all(|b| b.font == FontChoice::Oswald));
    }
}
