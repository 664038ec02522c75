//! `skyhigh seed`: fills a local data folder with many memes, for load tests and demos.
//!
//! Memes go through the storage traits like real saves (one transaction each). Rendering
//! 100,000 images would only measure the engine, so each template is rendered once and the
//! seeded memes share those images under `seed/` keys.

use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use time::OffsetDateTime;

use crate::domain::{Email, Job, Meme, MemeId, MemeMedia, MemeSource, User, UserId, Username};
use crate::render::{Engine, Outputs, Source, templates};
use crate::storage::{self, BlobKey};

#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// How many memes to add.
    #[arg(long, default_value_t = 1000)]
    pub memes: usize,
    /// Spread them over this many creators (`seed-creator-0`, …).
    #[arg(long, default_value_t = 20)]
    pub creators: usize,
    /// The local backend's folder.
    #[arg(long, env = "SKYHIGH_DATA_DIR", default_value = "./data")]
    pub data_dir: std::path::PathBuf,
}

pub async fn run(args: SeedArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let storage = storage::local::open(&args.data_dir)?;
    let engine = Engine::new().context("loading the engine")?;

    let mut creators = Vec::new();
    for i in 0..args.creators.max(1) {
        let username = Username::parse(&format!("seed-creator-{i}"))?;
        let user = match storage.users.find_by_username(&username).await? {
            Some(user) => user,
            None => {
                let user = User {
                    id: UserId::new(),
                    email: Email::parse(&format!("{username}@seed.example"))?,
                    username,
                    // Not a valid argon2 hash: seeded accounts cannot sign in.
                    password_hash: "!seeded".into(),
                    created_at: OffsetDateTime::now_utc(),
                    email_verified: true,
                    email_suppressed: false,
                };
                storage.users.create(&user).await?;
                user
            }
        };
        creators.push(user);
    }

    let mut media = Vec::new();
    for template in templates::catalog() {
        let spec = template.spec(&["seeded meme", "for load tests"]);
        let rendered = engine.render(Source::Template(template.id), &spec, Outputs::SAVE)?;
        let (Some(display), Some(thumb)) = (rendered.display, rendered.thumbnail) else {
            anyhow::bail!("no images rendered for {}", template.id);
        };
        let display_key = format!("seed/{}/display.jpg", template.id);
        let thumb_key = format!("seed/{}/thumb.jpg", template.id);
        for (key, bytes) in [(&display_key, display.bytes.clone()), (&thumb_key, thumb.bytes.clone())] {
            let key = BlobKey::parse(key).context("seed media key")?;
            storage.blobs.put(&key, Bytes::from(bytes), "image/jpeg").await?;
        }
        media.push((
            template.id,
            spec,
            MemeMedia {
                display_key: BlobKey::parse(&display_key).context("seed media key")?,
                thumb_key: BlobKey::parse(&thumb_key).context("seed media key")?,
                content_type: "image/jpeg".into(),
                width: display.width,
                height: display.height,
                thumb_width: thumb.width,
                thumb_height: thumb.height,
            },
        ));
    }

    for i in 0..args.memes {
        let creator = &creators[i % creators.len()];
        let (template, spec, media) = &media[i % media.len()];
        let meme = Meme {
            id: MemeId::new(),
            creator_id: creator.id,
            creator: creator.username.clone(),
            source: MemeSource::Template((*template).to_owned()),
            parent_id: None,
            captions: vec![format!("seeded meme {i}"), "for load tests".into()],
            spec: spec.clone(),
            media: media.clone(),
            comment_count: 0,
            remix_count: 0,
            parent_snapshot: None,
            template_name: None,
            created_at: OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())?,
        };
        storage.memes.create(&meme).await?;
        if (i + 1) % 10_000 == 0 {
            eprintln!("seeded {} memes", i + 1);
        }
    }
    let settled = settle_unheard_jobs(&storage, &creators).await?;
    eprintln!(
        "seeded {} memes by {} creators in {:.1?} ({settled} \"published\" jobs of memes nobody subscribes to settled)",
        args.memes,
        creators.len(),
        started.elapsed()
    );
    Ok(())
}

/// Completes the "meme published" jobs of seed creators nobody subscribes to: each would tell
/// no one, and 100,000 of them left queued keep the site's worker writing for its first minute,
/// so every read in that minute finds the database changed and drops its page cache (a load
/// test measured the home page at half its rate). A seed creator somebody did subscribe to (a
/// folder seeded again after use) keeps its jobs for the worker, like any other, and so do all
/// other jobs.
async fn settle_unheard_jobs(storage: &storage::Storage, creators: &[User]) -> anyhow::Result<usize> {
    let mut unheard = std::collections::HashSet::new();
    for creator in creators {
        if storage.subscriptions.subscriber_count(creator).await? == 0 {
            unheard.insert(creator.id);
        }
    }
    let (mut settled, mut others) = (0, Vec::new());
    loop {
        // Hidden while the queue is gone through, so each job is received once.
        let jobs = storage.jobs.receive(1000, Duration::from_secs(600), Duration::ZERO).await?;
        if jobs.is_empty() {
            break;
        }
        for received in jobs {
            match &received.job {
                Job::MemePublished(published) if unheard.contains(&published.creator_id) => {
                    storage.jobs.complete(&received.receipt).await?;
                    settled += 1;
                }
                _ => others.push(received.receipt),
            }
        }
    }
    for receipt in others {
        // Back for the worker at once.
        storage.jobs.hide(&receipt, Duration::ZERO).await?;
    }
    Ok(settled)
}
