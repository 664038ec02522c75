use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::db::{Db, blob_key, corrupt, page_of, sql_error, timestamp};
use crate::domain::{SharedTemplate, TemplateStats, UserId, Username};
use crate::storage::{Page, PageRequest, SettingsStore, StorageError, StorageResult, TemplateStore, TemplateWithMemes};

pub struct SqliteTemplates {
    db: Db,
}

impl SqliteTemplates {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

const COLUMNS: &str = "id, name, owner_id, owner, original_key, thumb_key, width, height, created_at";

fn template_from_row(row: &Row<'_>) -> rusqlite::Result<StorageResult<SharedTemplate>> {
    let (id, name, owner_id, owner): (String, String, String, String) =
        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
    let (original_key, thumb_key, width, height, created_at): (String, String, u32, u32, i64) =
        (row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?, row.get(8)?);
    Ok((|| {
        Ok(SharedTemplate {
            owner_id: UserId::parse(&owner_id).map_err(|e| corrupt("template", e))?,
            owner: Username::parse(&owner).map_err(|e| corrupt("template", e))?,
            created_at: timestamp(created_at)?,
            id,
            name,
            original_key: blob_key("template", &original_key)?,
            thumb_key: blob_key("template", &thumb_key)?,
            width,
            height,
        })
    })())
}

#[async_trait]
impl TemplateStore for SqliteTemplates {
    async fn create(&self, t: &SharedTemplate) -> StorageResult<()> {
        let t = t.clone();
        self.db
            .write(move |conn| {
                let sql =
                    format!("INSERT INTO shared_templates ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
                conn.execute(
                    &sql,
                    params![
                        t.id,
                        t.name,
                        t.owner_id.to_string(),
                        t.owner.as_str(),
                        t.original_key.as_str(),
                        t.thumb_key.as_str(),
                        t.width,
                        t.height,
                        t.created_at.unix_timestamp()
                    ],
                )
                .map_err(|e| match super::db::unique_violation(&e) {
                    Some(_) => StorageError::Conflict("template id"),
                    None => sql_error(e),
                })?;
                Ok(())
            })
            .await
    }

    async fn get(&self, id: &str) -> StorageResult<Option<SharedTemplate>> {
        let id = id.to_owned();
        self.db
            .read(move |conn| {
                let sql = format!("SELECT {COLUMNS} FROM shared_templates WHERE id = ?1");
                conn.prepare_cached(&sql)
                    .and_then(|mut s| s.query_row([id], template_from_row).optional())
                    .map_err(sql_error)?
                    .transpose()
            })
            .await
    }

    async fn list(&self, page: PageRequest) -> StorageResult<Page<SharedTemplate>> {
        let after = page.after.map(|c| c.0).unwrap_or_else(|| "~".to_owned());
        let limit = page.limit;
        self.db
            .read(move |conn| {
                let sql = format!("SELECT {COLUMNS} FROM shared_templates WHERE id < ?1 ORDER BY id DESC LIMIT ?2");
                let mut stmt = conn.prepare_cached(&sql).map_err(sql_error)?;
                let rows = stmt
                    .query_map(params![after, (limit + 1) as i64], template_from_row)
                    .map_err(sql_error)?
                    .map(|r| r.map_err(sql_error)?)
                    .collect::<StorageResult<Vec<_>>>()?;
                Ok(page_of(rows, limit, |t| t.id.clone()))
            })
            .await
    }

    async fn stats(&self, template_id: &str, today: time::Date, days: u16) -> StorageResult<TemplateStats> {
        let id = template_id.to_owned();
        self.db
            .read(move |conn| {
                let (memes, remixes) = conn
                    .prepare_cached("SELECT memes, remixes FROM template_stats WHERE template_id = ?1")
                    .and_then(|mut s| s.query_row([&id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))).optional())
                    .map_err(sql_error)?
                    .unwrap_or((0, 0));
                let first = today - time::Duration::days(i64::from(days.saturating_sub(1)));
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT day, memes FROM template_daily WHERE template_id = ?1 AND day >= ?2 AND day <= ?3",
                    )
                    .map_err(sql_error)?;
                let counted: std::collections::HashMap<String, i64> = stmt
                    .query_map(params![id, first.to_string(), today.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql_error)?
                    .collect::<Result<_, _>>()
                    .map_err(sql_error)?;
                let daily = (0..i64::from(days))
                    .map(|i| {
                        let day = first + time::Duration::days(i);
                        (day, counted.get(&day.to_string()).copied().unwrap_or(0).max(0) as u64)
                    })
                    .collect();
                Ok(TemplateStats { memes: memes.max(0) as u64, remixes: remixes.max(0) as u64, daily })
            })
            .await
    }

    async fn meme_counts(&self, template_ids: &[String]) -> StorageResult<Vec<u64>> {
        if template_ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(template_ids).map_err(|e| StorageError::Other(e.into()))?;
        let wanted = template_ids.to_vec();
        self.db
            .read(move |conn| {
                // One statement for the whole list: the ids travel as one JSON array.
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT template_id, memes FROM template_stats \
                         WHERE template_id IN (SELECT value FROM json_each(?1))",
                    )
                    .map_err(sql_error)?;
                let counted: std::collections::HashMap<String, i64> = stmt
                    .query_map([ids], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql_error)?
                    .collect::<Result<_, _>>()
                    .map_err(sql_error)?;
                Ok(wanted.iter().map(|id| counted.get(id).copied().unwrap_or(0).max(0) as u64).collect())
            })
            .await
    }

    async fn get_with_recent_memes(&self, id: &str, limit: usize) -> StorageResult<TemplateWithMemes> {
        let id = id.to_owned();
        self.db
            .read(move |conn| {
                let sql = format!("SELECT {COLUMNS} FROM shared_templates WHERE id = ?1");
                let shared = conn
                    .prepare_cached(&sql)
                    .and_then(|mut s| s.query_row([&id], template_from_row).optional())
                    .map_err(sql_error)?
                    .transpose()?;
                let recent = super::memes::newest_on_template(conn, &id, limit)?;
                Ok(TemplateWithMemes { shared, recent })
            })
            .await
    }
}

pub struct SqliteSettings {
    db: Db,
}

impl SqliteSettings {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait]
impl SettingsStore for SqliteSettings {
    async fn get_or_init(&self, name: &str, candidate: &[u8]) -> StorageResult<Vec<u8>> {
        let (name, candidate) = (name.to_owned(), candidate.to_vec());
        self.db
            .write(move |conn| {
                conn.execute(
                    "INSERT INTO settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                    params![name, candidate],
                )
                .map_err(sql_error)?;
                conn.query_row("SELECT value FROM settings WHERE name = ?1", [name], |r| r.get(0)).map_err(sql_error)
            })
            .await
    }
}
