//! Crash durability on the local backend: writes from several clients, `kill -9` at three
//! moments, restarts on the same data folder.

mod local_only {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use reqwest::StatusCode;

    use crate::helpers::{Browser, ServerProcess, TestApp, eventually, free_port, readable, sent_mail};

    /// What the server acknowledged: meme ids (303 to the meme) and comment ids.
    #[derive(Default)]
    struct Acknowledged {
        memes: BTreeSet<String>,
        comments: BTreeMap<String, String>,
    }

    /// One creator saving memes and commenting on them as fast as the server answers, until
    /// the server dies under it.
    async fn write_until_killed(creator: Browser, name: String, acked: Arc<Mutex<Acknowledged>>) {
        for i in 0.. {
            let mut form = reqwest::multipart::Form::new();
            let Some(token) = token_of(&creator, "/memes/new").await else { return };
            form = form.text("csrf_token", token).text("template", "chelsea").text("save", "1");
            form = form.text("caption", format!("{name} {i}")).text("caption", "durable");
            let sent = creator
                .client
                .post(creator.url("/memes"))
                .header("origin", &creator.address)
                .multipart(form)
                .send()
                .await;
            let Ok(response) = sent else { return };
            if response.status() != StatusCode::SEE_OTHER {
                return;
            }
            let id = response.headers()["location"].to_str().unwrap().trim_start_matches("/memes/").to_owned();
            acked.lock().unwrap().memes.insert(id.clone());
            let page = format!("/memes/{id}");
            let Some(token) = token_of(&creator, &page).await else { return };
            let body = format!("comment {i} by {name}");
            let sent = creator
                .client
                .post(creator.url(&format!("{page}/comments")))
                .header("origin", &creator.address)
                .form(&[("csrf_token", token.as_str()), ("body", body.as_str())])
                .send()
                .await;
            let Ok(response) = sent else { return };
            if response.status() != StatusCode::SEE_OTHER {
                return;
            }
            let location = response.headers()["location"].to_str().unwrap();
            let comment = location.rsplit("#comment-").next().unwrap().to_owned();
            acked.lock().unwrap().comments.insert(comment, id);
        }
    }

    async fn token_of(browser: &Browser, page: &str) -> Option<String> {
        let html = browser.get_page(page).await?;
        crate::helpers::extract_csrf_token(&html)
    }

    fn integrity_check(data: &Path) -> String {
        let db =
            rusqlite::Connection::open_with_flags(data.join("skyhigh.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        db.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap()
    }

    fn stored_meme_ids(data: &Path) -> BTreeSet<String> {
        let db =
            rusqlite::Connection::open_with_flags(data.join("skyhigh.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let mut query = db.prepare("SELECT id FROM memes").unwrap();
        query.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
    }

    /// Delivery jobs not yet done.
    fn pending_jobs(data: &Path) -> i64 {
        let db =
            rusqlite::Connection::open_with_flags(data.join("skyhigh.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        db.query_row("SELECT count(*) FROM jobs", [], |row| row.get(0)).unwrap()
    }

    /// The jobs left, for the message of a failure.
    fn job_rows(data: &Path) -> Vec<String> {
        let db =
            rusqlite::Connection::open_with_flags(data.join("skyhigh.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        let mut query = db.prepare("SELECT * FROM jobs").unwrap();
        let columns = query.column_count();
        let rows = query.query_map([], |row| {
            Ok((0..columns).map(|i| format!("{:?}", row.get_ref(i).unwrap())).collect::<Vec<_>>().join(" | "))
        });
        rows.unwrap().map(Result::unwrap).collect()
    }

    /// Every file under `root`.
    fn files(root: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        let mut folders = vec![root.to_owned()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                if entry.file_type().unwrap().is_dir() {
                    folders.push(entry.path());
                } else {
                    out.push(entry.path());
                }
            }
        }
        out
    }

    /// Media files whose meme has no record, and temporary files, anywhere in the data folder.
    fn debris(data: &Path) -> Vec<String> {
        let memes = stored_meme_ids(data);
        files(data)
            .into_iter()
            .filter_map(|path| {
                let relative = path.strip_prefix(data).unwrap().to_string_lossy().into_owned();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                let orphan = relative
                    .strip_prefix("media/memes/")
                    .and_then(|rest| rest.split('/').next())
                    .is_some_and(|id| !memes.contains(id));
                (name.starts_with(".tmp") || orphan).then_some(relative)
            })
            .collect()
    }

    #[tokio::test]
    async fn acknowledged_writes_survive_kill_minus_nine_and_crashes_leave_nothing_behind() {
        let data = tempfile::tempdir().unwrap();
        let data = data.path();
        let port = free_port();
        let address = format!("http://127.0.0.1:{port}");
        // Every email individually: no hourly digest for subscribers of busy creators here.
        let env = [("SKYHIGH_EMAILS_PER_HOUR", "1000")];
        let server = ServerProcess::start_on(port, data, &env).await;
        let creators: Vec<String> = (0..3).map(|i| format!("creator{i}")).collect();
        for name in &creators {
            Browser::new(address.clone(), data).signed_up(name).await;
        }
        let subscribers = ["sub0", "sub1"];
        for sub in subscribers {
            let browser = Browser::new(address.clone(), data);
            browser.signed_up(sub).await;
            for name in &creators {
                let response = browser.act(&format!("/u/{name}"), &format!("/u/{name}/subscribe"), &[]).await;
                assert_eq!(response.status(), StatusCode::SEE_OTHER);
            }
        }
        let acked = Arc::new(Mutex::new(Acknowledged::default()));
        let mut server = Some(server);
        // Three lives, each killed at a different moment of its write load.
        for kill_after in [Duration::from_millis(300), Duration::from_millis(900), Duration::from_millis(1700)] {
            let running = match server.take() {
                Some(s) => s,
                None => ServerProcess::start_on(port, data, &env).await,
            };
            let writers: Vec<_> = creators
                .iter()
                .map(|name| {
                    let browser = Browser::new(address.clone(), data);
                    let name = name.clone();
                    let acked = acked.clone();
                    tokio::spawn(async move {
                        let response = browser.login(&name, crate::helpers::PASSWORD).await;
                        assert_eq!(response.status(), StatusCode::SEE_OTHER);
                        write_until_killed(browser, name, acked).await;
                    })
                })
                .collect();
            tokio::time::sleep(kill_after).await;
            running.kill_hard();
            for writer in writers {
                writer.await.unwrap();
            }
        }

        let _last = ServerProcess::start_on(port, data, &env).await;
        let visitor = Browser::new(address.clone(), data);
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        assert!(acked.memes.len() >= 6, "the load made memes in every life: {}", acked.memes.len());
        for id in &acked.memes {
            assert_eq!(visitor.get(&format!("/memes/{id}")).await.status(), StatusCode::OK, "acknowledged meme {id}");
        }
        for (comment, meme) in &acked.comments {
            let page = visitor.get_html(&format!("/memes/{meme}")).await;
            assert!(page.contains(&format!("comment-{comment}")), "acknowledged comment {comment} on {meme}");
        }
        assert_eq!(integrity_check(data), "ok");
        eventually("start-up's sweep removes orphan media and temporary files", || debris(data).is_empty()).await;
        // Each stored meme reaches each subscriber once: one .eml per (meme, subscriber).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while pending_jobs(data) != 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(pending_jobs(data), 0, "the job queue drains; left: {:#?}", job_rows(data));
        let memes = stored_meme_ids(data);
        let emails: Vec<String> = sent_mail(data).await.iter().map(|m| readable(m)).collect();
        for id in &memes {
            for sub in subscribers {
                let to = format!("To: {sub} <{sub}@example.com>");
                let count = emails.iter().filter(|e| e.contains(&to) && e.contains(&format!("/memes/{id}"))).count();
                assert_eq!(count, 1, "{sub} got {count} emails about meme {id}");
            }
        }
        let notices = emails.iter().filter(|e| e.contains("posted a new meme")).count();
        assert_eq!(notices, memes.len() * subscribers.len(), "no email about a meme that was not stored");
    }

    #[tokio::test]
    async fn start_up_sweeps_what_a_crash_left_and_keeps_what_is_live() {
        let data = tempfile::tempdir().unwrap();
        let first = TestApp::spawn_in(data.path(), |_| {}).await;
        first.signed_up("ann").await;
        let live = first.save_meme("chelsea", &["keep", "me"]).await;
        first.stop().await;
        // What a kill -9 leaves: media written before the record that never came (or after a
        // delete's record went), and temporary files of writes cut short.
        let media = data.path().join("media");
        let orphan = skyhigh::domain::MemeId::new();
        let leftovers = [
            media.join(format!("memes/{orphan}/display.jpg")),
            media.join(format!("memes/{orphan}/thumb.jpg")),
            media.join(format!("originals/{orphan}.png")),
            media.join(format!("memes/{live}/.tmpA1b2C3")),
            data.path().join("outbox/.tmpD4e5F6"),
        ];
        for file in &leftovers {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, b"debris").unwrap();
        }

        let _second = TestApp::spawn_in(data.path(), |_| {}).await;

        eventually("the start-up sweep removes every leftover", || leftovers.iter().all(|f| !f.exists())).await;
        assert!(!media.join(format!("memes/{orphan}")).exists(), "and the folder they leave empty");
        for kept in ["display.jpg", "thumb.jpg"] {
            assert!(media.join(format!("memes/{live}/{kept}")).exists(), "the live meme's {kept} stays");
        }
    }
}
