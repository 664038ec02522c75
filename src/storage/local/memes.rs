use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::db::{Db, blob_key, corrupt, id_cursor, page_of, sql_error, timestamp};
use crate::domain::{Comment, CommentId, Meme, MemeId, MemeMedia, MemeSource, Notice, UserId, Username};
use crate::storage::{Cursor, MemeOrder, MemeStore, Page, PageRequest, StorageError, StorageResult, parse_spec};

pub struct SqliteMemes {
    db: Db,
}

impl SqliteMemes {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Runs a keyset query whose first parameter is the cursor (or none) and the last the limit.
    async fn query_page(
        &self,
        sql_first: &'static str,
        sql_after: &'static str,
        key: Option<String>,
        after: Option<String>,
        limit: usize,
        cursor_of: fn(&Meme) -> String,
    ) -> StorageResult<Page<Meme>> {
        self.db
            .read(move |conn| {
                let fetch = (limit + 1) as i64;
                let rows = match (&key, &after) {
                    (Some(k), Some(a)) => collect(conn, sql_after, params![k, a, fetch]),
                    (Some(k), None) => collect(conn, sql_first, params![k, fetch]),
                    (None, Some(a)) => collect(conn, sql_after, params![a, fetch]),
                    (None, None) => collect(conn, sql_first, params![fetch]),
                }?;
                Ok(page_of(rows, limit, cursor_of))
            })
            .await
    }
}

/// The columns `meme_from_row` reads, in its order (a macro so queries can `concat!` it).
macro_rules! meme_columns {
    () => {
        "id, creator_id, creator, template_id, original_key, parent_id, captions, spec, display_key, thumb_key, \
         content_type, width, height, thumb_width, thumb_height, comment_count, remix_count, created_at"
    };
}
const MEME_COLUMNS: &str = meme_columns!();

/// The same columns for lists, without the description: a list shows no boxes, and parsing 24
/// descriptions took a home page from ~18k to ~4.8k requests/s.
macro_rules! listed_columns {
    () => {
        "id, creator_id, creator, template_id, original_key, parent_id, captions, '' AS spec, display_key, thumb_key, \
         content_type, width, height, thumb_width, thumb_height, comment_count, remix_count, created_at"
    };
}

/// The newest `limit` memes made with `template`, newest first (a template page's list).
pub(super) fn newest_on_template(conn: &Connection, template: &str, limit: usize) -> StorageResult<Vec<Meme>> {
    collect(
        conn,
        concat!("SELECT ", listed_columns!(), " FROM memes WHERE template_id = ?1 ORDER BY id DESC LIMIT ?2"),
        params![template, limit as i64],
    )
}

fn collect(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> StorageResult<Vec<Meme>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sql_error)?;
    let rows = stmt.query_map(params, meme_from_row).map_err(sql_error)?;
    rows.map(|row| row.map_err(sql_error)?).collect()
}

pub fn meme_from_row(row: &Row<'_>) -> rusqlite::Result<StorageResult<Meme>> {
    let id: String = row.get(0)?;
    let creator_id: String = row.get(1)?;
    let creator: String = row.get(2)?;
    let template_id: Option<String> = row.get(3)?;
    let original_key: Option<String> = row.get(4)?;
    let parent_id: Option<String> = row.get(5)?;
    let captions: String = row.get(6)?;
    let created_at: i64 = row.get(17)?;
    let (display_key, thumb_key): (String, String) = (row.get(8)?, row.get(9)?);
    let (content_type, width, height, thumb_width, thumb_height): (String, u32, u32, u32, u32) =
        (row.get(10)?, row.get(11)?, row.get(12)?, row.get(13)?, row.get(14)?);
    let spec = parse_spec(&row.get::<_, String>(7)?);
    let comment_count: u32 = row.get(15)?;
    let remix_count: u32 = row.get(16)?;
    Ok((|| {
        let source = match (template_id, original_key) {
            (Some(t), _) => MemeSource::Template(t),
            (None, Some(k)) => MemeSource::Upload { original_key: blob_key("meme", &k)? },
            (None, None) => return Err(corrupt("meme", format!("{id} has no source"))),
        };
        Ok(Meme {
            id: MemeId::parse(&id).map_err(|e| corrupt("meme", e))?,
            creator_id: UserId::parse(&creator_id).map_err(|e| corrupt("meme", e))?,
            creator: Username::parse(&creator).map_err(|e| corrupt("meme", e))?,
            source,
            parent_id: parent_id.map(|p| MemeId::parse(&p)).transpose().map_err(|e| corrupt("meme", e))?,
            captions: serde_json::from_str(&captions).map_err(|e| corrupt("meme", e))?,
            spec,
            media: MemeMedia {
                display_key: blob_key("meme", &display_key)?,
                thumb_key: blob_key("meme", &thumb_key)?,
                content_type,
                width,
                height,
                thumb_width,
                thumb_height,
            },
            comment_count,
            remix_count,
            created_at: timestamp(created_at)?,
            parent_snapshot: None,
            template_name: None,
        })
    })())
}

fn get_meme(conn: &Connection, id: &str) -> StorageResult<Option<Meme>> {
    let sql = format!("SELECT {MEME_COLUMNS} FROM memes WHERE id = ?1");
    conn.prepare_cached(&sql)
        .and_then(|mut stmt| stmt.query_row([id], meme_from_row).optional())
        .map_err(sql_error)?
        .transpose()
}

fn insert_meme(tx: &Transaction<'_>, meme: &Meme) -> StorageResult<()> {
    let (template_id, original_key) = match &meme.source {
        MemeSource::Template(t) => (Some(t.as_str()), None),
        MemeSource::Upload { original_key } => (None, Some(original_key.as_str())),
    };
    let captions = serde_json::to_string(&meme.captions).map_err(|e| StorageError::Other(e.into()))?;
    let spec = serde_json::to_string(&meme.spec).map_err(|e| StorageError::Other(e.into()))?;
    let sql = format!(
        "INSERT INTO memes ({MEME_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0, 0, ?16)"
    );
    tx.prepare_cached(&sql)
        .and_then(|mut stmt| {
            stmt.execute(params![
                meme.id.to_string(),
                meme.creator_id.to_string(),
                meme.creator.as_str(),
                template_id,
                original_key,
                meme.parent_id.map(|p| p.to_string()),
                captions,
                spec,
                meme.media.display_key.as_str(),
                meme.media.thumb_key.as_str(),
                meme.media.content_type,
                meme.media.width,
                meme.media.height,
                meme.media.thumb_width,
                meme.media.thumb_height,
                meme.created_at.unix_timestamp(),
            ])
        })
        .map_err(sql_error)?;
    Ok(())
}

/// Counters that follow a meme: its template's use counts and its parent's remix count.
fn count_uses(tx: &Transaction<'_>, meme: &Meme, delta: i64) -> StorageResult<()> {
    let remix = i64::from(meme.parent_id.is_some());
    if let Some(template) = meme.template_id() {
        tx.execute(
            "INSERT INTO template_stats (template_id, memes, remixes) VALUES (?1, MAX(?2, 0), MAX(?3, 0))
             ON CONFLICT (template_id) DO UPDATE SET memes = memes + ?2, remixes = remixes + ?3",
            params![template, delta, delta * remix],
        )
        .map_err(sql_error)?;
        let day = meme.created_at.date().to_string();
        tx.execute(
            "INSERT INTO template_daily (template_id, day, memes) VALUES (?1, ?2, MAX(?3, 0))
             ON CONFLICT (template_id, day) DO UPDATE SET memes = MAX(memes + ?3, 0)",
            params![template, day, delta],
        )
        .map_err(sql_error)?;
    }
    if let Some(parent) = meme.parent_id {
        tx.execute(
            "UPDATE memes SET remix_count = MAX(remix_count + ?2, 0) WHERE id = ?1",
            params![parent.to_string(), delta],
        )
        .map_err(sql_error)?;
    }
    Ok(())
}

/// A job for the delivery worker, in the transaction of the change it follows.
fn enqueue(tx: &Transaction<'_>, job: &crate::domain::Job) -> StorageResult<()> {
    let body = serde_json::to_string(job).map_err(|e| StorageError::Other(e.into()))?;
    tx.execute("INSERT INTO jobs (body, visible_at) VALUES (?1, 0)", [body]).map_err(sql_error)?;
    Ok(())
}

#[async_trait]
impl MemeStore for SqliteMemes {
    #[tracing::instrument(skip_all, fields(meme = %meme.id))]
    async fn create_with_notice(&self, meme: &Meme, notice: Option<&Notice>) -> StorageResult<()> {
        let meme = meme.clone();
        let notice = notice.cloned();
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                insert_meme(&tx, &meme)?;
                count_uses(&tx, &meme, 1)?;
                enqueue(&tx, &crate::domain::Job::MemePublished(meme.published()))?;
                if let Some(notice) = &notice {
                    super::notifications::write_notice(&tx, notice)?;
                }
                tx.commit().map_err(sql_error)
            })
            .await
    }

    async fn get(&self, id: MemeId) -> StorageResult<Option<Meme>> {
        self.db.read(move |conn| get_meme(conn, &id.to_string())).await
    }

    async fn get_with_comments(
        &self,
        id: MemeId,
        comments: PageRequest,
    ) -> StorageResult<Option<(Meme, Page<Comment>)>> {
        let after = id_cursor::<CommentId>(&comments.after)?.unwrap_or_default();
        self.db
            .read(move |conn| {
                let Some(meme) = get_meme(conn, &id.to_string())? else { return Ok(None) };
                let comments = super::comments::list_comments(conn, id, &after, comments.limit)?;
                Ok(Some((meme, comments)))
            })
            .await
    }

    #[tracing::instrument(skip(self))]
    async fn delete(&self, id: MemeId) -> StorageResult<Option<Meme>> {
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                let Some(meme) = get_meme(&tx, &id.to_string())? else {
                    return Ok(None);
                };
                // Comments and notifications go with it (ON DELETE CASCADE); its media are the
                // worker's, from the "deleted" job written with the delete.
                tx.execute("DELETE FROM memes WHERE id = ?1", [id.to_string()]).map_err(sql_error)?;
                count_uses(&tx, &meme, -1)?;
                enqueue(&tx, &crate::domain::Job::MemeDeleted(meme.deleted()))?;
                tx.commit().map_err(sql_error)?;
                Ok(Some(meme))
            })
            .await
    }

    async fn list(&self, order: MemeOrder, page: PageRequest) -> StorageResult<Page<Meme>> {
        match order {
            MemeOrder::New => {
                let after = id_cursor::<MemeId>(&page.after)?;
                self.query_page(
                    concat!("SELECT ", listed_columns!(), " FROM memes ORDER BY id DESC LIMIT ?1"),
                    concat!("SELECT ", listed_columns!(), " FROM memes WHERE id < ?1 ORDER BY id DESC LIMIT ?2"),
                    None,
                    after,
                    page.limit,
                    |m| m.id.to_string(),
                )
                .await
            }
            MemeOrder::Top => {
                let after = page.after.as_ref().map(top_cursor).transpose()?;
                let limit = page.limit;
                self.db
                    .read(move |conn| {
                        let fetch = (limit + 1) as i64;
                        let rows = match after {
                            None => collect(
                                conn,
                                concat!(
                                    "SELECT ",
                                    listed_columns!(),
                                    " FROM memes ORDER BY comment_count DESC, id DESC LIMIT ?1"
                                ),
                                params![fetch],
                            ),
                            Some((count, id)) => collect(
                                conn,
                                concat!(
                                    "SELECT ",
                                    listed_columns!(),
                                    " FROM memes WHERE comment_count < ?1 OR (comment_count = ?1 AND id < ?2) \
                                     ORDER BY comment_count DESC, id DESC LIMIT ?3"
                                ),
                                params![count, id, fetch],
                            ),
                        }?;
                        Ok(page_of(rows, limit, |m| format!("{}:{}", m.comment_count, m.id)))
                    })
                    .await
            }
        }
    }

    async fn list_by_creator(&self, creator: &crate::domain::User, page: PageRequest) -> StorageResult<Page<Meme>> {
        let creator = creator.id;
        let after = id_cursor::<MemeId>(&page.after)?;
        self.query_page(
            concat!("SELECT ", listed_columns!(), " FROM memes WHERE creator_id = ?1 ORDER BY id DESC LIMIT ?2"),
            concat!(
                "SELECT ",
                listed_columns!(),
                " FROM memes WHERE creator_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
            ),
            Some(creator.to_string()),
            after,
            page.limit,
            |m| m.id.to_string(),
        )
        .await
    }

    async fn list_remixes(&self, parent: MemeId, page: PageRequest) -> StorageResult<Page<Meme>> {
        let after = id_cursor::<MemeId>(&page.after)?;
        self.query_page(
            concat!("SELECT ", listed_columns!(), " FROM memes WHERE parent_id = ?1 ORDER BY id DESC LIMIT ?2"),
            concat!(
                "SELECT ",
                listed_columns!(),
                " FROM memes WHERE parent_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
            ),
            Some(parent.to_string()),
            after,
            page.limit,
            |m| m.id.to_string(),
        )
        .await
    }

    /// Comments and notifications went with the meme (`ON DELETE CASCADE`).
    async fn purge(&self, _deleted: &crate::domain::MemeDeleted) -> StorageResult<()> {
        Ok(())
    }

    /// The top list is an index of the table (`memes_top`): always current.
    async fn refresh_rankings(&self, _now: time::OffsetDateTime) -> StorageResult<()> {
        Ok(())
    }
}

/// "count:id" for the Top order.
fn top_cursor(cursor: &Cursor) -> StorageResult<(i64, String)> {
    let (count, id) = cursor.0.split_once(':').ok_or(StorageError::InvalidCursor)?;
    let count: i64 = count.parse().map_err(|_| StorageError::InvalidCursor)?;
    MemeId::parse(id).map_err(|_| StorageError::InvalidCursor)?;
    Ok((count, id.to_owned()))
}
