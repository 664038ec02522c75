use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, Row, params};

use super::db::{Db, corrupt, id_cursor, page_of, sql_error, timestamp};
use crate::domain::{Comment, CommentBody, CommentId, MemeId, Notice, UserId, Username};
use crate::storage::{CommentStore, Page, PageRequest, StorageError, StorageResult};

pub struct SqliteComments {
    db: Db,
}

impl SqliteComments {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

const COLUMNS: &str = "id, meme_id, author_id, author, body, created_at";

fn comment_from_row(row: &Row<'_>) -> rusqlite::Result<StorageResult<Comment>> {
    let (id, meme_id, author_id, author, body, created_at): (String, String, String, String, String, i64) =
        (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?);
    Ok((|| {
        Ok(Comment {
            id: CommentId::parse(&id).map_err(|e| corrupt("comment", e))?,
            meme_id: MemeId::parse(&meme_id).map_err(|e| corrupt("comment", e))?,
            author_id: UserId::parse(&author_id).map_err(|e| corrupt("comment", e))?,
            author: Username::parse(&author).map_err(|e| corrupt("comment", e))?,
            body: CommentBody::parse(&body).map_err(|e| corrupt("comment", e))?,
            created_at: timestamp(created_at)?,
        })
    })())
}

/// Comments of `meme` after the comment id `after` ("" for the first page), oldest first.
pub fn list_comments(
    conn: &rusqlite::Connection,
    meme: MemeId,
    after: &str,
    limit: usize,
) -> StorageResult<Page<Comment>> {
    let sql = format!("SELECT {COLUMNS} FROM comments WHERE meme_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_error)?;
    let rows = stmt
        .query_map(params![meme.to_string(), after, (limit + 1) as i64], comment_from_row)
        .map_err(sql_error)?
        .map(|r| r.map_err(sql_error)?)
        .collect::<StorageResult<Vec<_>>>()?;
    Ok(page_of(rows, limit, |c| c.id.to_string()))
}

#[async_trait]
impl CommentStore for SqliteComments {
    async fn add_with_notice(&self, comment: &Comment, notice: Option<&Notice>) -> StorageResult<()> {
        let c = comment.clone();
        let notice = notice.cloned();
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                let counted = tx
                    .execute("UPDATE memes SET comment_count = comment_count + 1 WHERE id = ?1", [c.meme_id.to_string()])
                    .map_err(sql_error)?;
                if counted == 0 {
                    return Err(StorageError::NotFound);
                }
                tx.execute(
                    "INSERT INTO comments (id, meme_id, author_id, author, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        c.id.to_string(),
                        c.meme_id.to_string(),
                        c.author_id.to_string(),
                        c.author.as_str(),
                        c.body.as_str(),
                        c.created_at.unix_timestamp()
                    ],
                )
                .map_err(sql_error)?;
                if let Some(notice) = &notice {
                    super::notifications::write_notice(&tx, notice)?;
                }
                tx.commit().map_err(sql_error)
            })
            .await
    }

    async fn get(&self, meme: MemeId, id: CommentId) -> StorageResult<Option<Comment>> {
        self.db
            .read(move |conn| {
                let sql = format!("SELECT {COLUMNS} FROM comments WHERE id = ?1 AND meme_id = ?2");
                conn.prepare_cached(&sql)
                    .and_then(|mut s| s.query_row([id.to_string(), meme.to_string()], comment_from_row).optional())
                    .map_err(sql_error)?
                    .transpose()
            })
            .await
    }

    async fn delete(&self, meme: MemeId, id: CommentId) -> StorageResult<()> {
        self.db
            .write(move |conn| {
                let tx = conn.transaction().map_err(sql_error)?;
                let removed = tx
                    .execute("DELETE FROM comments WHERE id = ?1 AND meme_id = ?2", [id.to_string(), meme.to_string()])
                    .map_err(sql_error)?;
                if removed == 0 {
                    return Err(StorageError::NotFound);
                }
                tx.execute(
                    "UPDATE memes SET comment_count = MAX(comment_count - 1, 0) WHERE id = ?1",
                    [meme.to_string()],
                )
                .map_err(sql_error)?;
                tx.commit().map_err(sql_error)
            })
            .await
    }

    async fn list(&self, meme: MemeId, page: PageRequest) -> StorageResult<Page<Comment>> {
        let after = id_cursor::<CommentId>(&page.after)?.unwrap_or_default();
        self.db.read(move |conn| list_comments(conn, meme, &after, page.limit)).await
    }

    async fn latest(&self, meme: MemeId, n: usize) -> StorageResult<Vec<Comment>> {
        self.db
            .read(move |conn| {
                let sql = format!("SELECT {COLUMNS} FROM comments WHERE meme_id = ?1 ORDER BY id DESC LIMIT ?2");
                let mut stmt = conn.prepare_cached(&sql).map_err(sql_error)?;
                let mut rows = stmt
                    .query_map(params![meme.to_string(), n as i64], comment_from_row)
                    .map_err(sql_error)?
                    .map(|r| r.map_err(sql_error)?)
                    .collect::<StorageResult<Vec<_>>>()?;
                rows.reverse();
                Ok(rows)
            })
            .await
    }

    async fn latest_of(&self, memes: &[MemeId], n: usize) -> StorageResult<HashMap<MemeId, Vec<Comment>>> {
        if memes.is_empty() {
            return Ok(HashMap::new());
        }
        let ids: Vec<String> = memes.iter().map(|m| m.to_string()).collect();
        self.db
            .read(move |conn| {
                // One statement for the whole page, each part reading only a meme's newest n from
                // the comments' index (however many comments a popular meme has).
                let part = format!(
                    "SELECT * FROM (SELECT {COLUMNS} FROM comments WHERE meme_id = ? ORDER BY id DESC LIMIT {n})"
                );
                let sql = vec![part; ids.len()].join(" UNION ALL ");
                let mut stmt = conn.prepare_cached(&sql).map_err(sql_error)?;
                let rows = stmt.query_map(rusqlite::params_from_iter(&ids), comment_from_row).map_err(sql_error)?;
                let mut found: HashMap<MemeId, Vec<Comment>> = HashMap::new();
                for row in rows {
                    let comment = row.map_err(sql_error)??;
                    found.entry(comment.meme_id).or_default().push(comment);
                }
                for comments in found.values_mut() {
                    comments.sort_by_key(|c| std::cmp::Reverse(c.id));
                }
                Ok(found)
            })
            .await
    }
}
