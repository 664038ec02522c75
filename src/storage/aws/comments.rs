//! Comments in their meme's partition (`MEME#<id>`, sort key `COMMENT#<id>`), so a meme's
//! comments are one Query, oldest first. Adding one is a transaction of the comment's put, an
//! atomic `ADD` on the meme's counters (`#STATS`, in no index), a check that the meme exists and
//! the activity marker the top list is refreshed from; colliding transactions (a viral meme)
//! are tried again with backoff.
//!
//! The meme's two newest comments are also copied onto its `#STATS` item (`latest1`,
//! `latest2`), which every list already reads for the counters: so the API's list shows them at
//! no extra request. An add shifts them in its own transaction; a delete bumps
//! `comments_version`, then rewrites both from a consistent read, on the condition that the
//! version is still the one it read (else it reads again), so a deleted comment never stays.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};

use super::Tables;
use super::item::{
    Item, PK, SK, conditional_failed, get_n, get_s, get_time, key, n, parse_s, put_if_new, s, sdk_error,
};
use super::memes::{STATS_SK, activity_put, build_error, meme_exists, meme_pk};
use super::notifications::{notice_refused, notice_writes};
use super::query::{self, Access, TABLE};
use crate::domain::{Comment, CommentBody, CommentId, MemeId, Notice, UserId, Username};
use crate::storage::{CommentStore, Page, PageRequest, StorageError, StorageResult};

const PREFIX: &str = "COMMENT#";
/// An author's comments on any meme (gsi2 `COMMENTS_BY#<author id>` / `<comment id>`), removed
/// with the account.
pub const BY_AUTHOR: Access = Access::gsi("gsi2", "g2pk", "g2sk");

pub fn author_pk(author: UserId) -> String {
    format!("COMMENTS_BY#{author}")
}

fn comment_sk(id: CommentId) -> String {
    format!("{PREFIX}{id}")
}

fn comment_item(comment: &Comment) -> Item {
    let mut item = key(meme_pk(comment.meme_id), comment_sk(comment.id));
    item.insert("id".into(), s(comment.id.to_string()));
    item.insert("meme_id".into(), s(comment.meme_id.to_string()));
    item.insert("author_id".into(), s(comment.author_id.to_string()));
    item.insert("author".into(), s(comment.author.as_str()));
    item.insert("body".into(), s(comment.body.as_str()));
    item.insert("created_at".into(), n(comment.created_at.unix_timestamp()));
    item.insert(BY_AUTHOR.pk.into(), s(author_pk(comment.author_id)));
    item.insert(BY_AUTHOR.sk.into(), s(comment.id.to_string()));
    item
}

pub fn comment_from_item(item: &Item) -> StorageResult<Comment> {
    Ok(Comment {
        id: parse_s(item, "id", CommentId::parse)?,
        meme_id: parse_s(item, "meme_id", MemeId::parse)?,
        author_id: parse_s(item, "author_id", UserId::parse)?,
        author: parse_s(item, "author", Username::parse)?,
        body: parse_s(item, "body", CommentBody::parse)?,
        created_at: get_time(item, "created_at")?,
    })
}

/// A comment as it is copied onto its meme's `#STATS` item (the same attributes, no keys).
fn comment_value(comment: &Comment) -> AttributeValue {
    let mut item = comment_item(comment);
    for name in [PK, SK, BY_AUTHOR.pk, BY_AUTHOR.sk] {
        item.remove(name);
    }
    AttributeValue::M(item)
}

/// The newest comments kept on a `#STATS` item, newest first.
pub fn latest_from_stats(stats: Option<&Item>) -> StorageResult<Vec<Comment>> {
    let Some(stats) = stats else { return Ok(Vec::new()) };
    ["latest1", "latest2"]
        .iter()
        .filter_map(|name| stats.get(*name).and_then(|v| v.as_m().ok()))
        .map(comment_from_item)
        .collect()
}

/// The update of the meme's `#STATS` for a comment added (`Some`: counted, and shifted in as
/// the newest) or deleted (`None`: counted; the newest are rewritten afterwards).
fn stats_change(table: &str, meme: MemeId, added: Option<&Comment>) -> StorageResult<TransactWriteItem> {
    let update = Update::builder().table_name(table).set_key(Some(key(meme_pk(meme), STATS_SK)));
    let update = match added {
        Some(comment) => update
            .update_expression(
                "ADD comment_count :one, comments_version :one \
                 SET latest2 = if_not_exists(latest1, :none), latest1 = :comment",
            )
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":none", AttributeValue::Null(true))
            .expression_attribute_values(":comment", comment_value(comment)),
        None => update
            .update_expression("ADD comment_count :minus, comments_version :one")
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":one", n(1)),
    };
    Ok(TransactWriteItem::builder().update(update.build().map_err(build_error)?).build())
}

/// The transaction of a comment's change: the comment's own write, the meme's counters, the
/// check that the meme exists, and the activity marker.
fn comment_change(
    table: &str,
    own: TransactWriteItem,
    meme: MemeId,
    added: Option<&Comment>,
) -> StorageResult<Vec<TransactWriteItem>> {
    Ok(vec![
        own,
        stats_change(table, meme, added)?,
        meme_exists(table, meme)?,
        activity_put(table, meme, time::OffsetDateTime::now_utc())?,
    ])
}

/// Removes every comment of a (deleted) meme.
pub async fn delete_all(tables: &Tables, meme: MemeId) -> StorageResult<()> {
    let query = comments_of(tables, meme).projection_expression("#pk, #sk");
    let keys = tables.query_all(query, "listing a deleted meme's comments").await?;
    tables.batch_delete(keys, "deleting a deleted meme's comments").await
}

/// The Query of a meme's comments (its partition, without the meme item), oldest first.
fn comments_of(tables: &Tables, meme: MemeId) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
    tables
        .query_partition(TABLE, &meme_pk(meme))
        .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
        .expression_attribute_names("#sk", SK)
        .expression_attribute_values(":prefix", s(PREFIX))
}

/// The page for comment items read after the meme item (`limit + 1` of them at most).
pub fn page_from_items(mut items: Vec<Item>, limit: usize) -> StorageResult<Page<Comment>> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(comment_cursor).transpose()?
    } else {
        None
    };
    Ok(Page { items: items.iter().map(comment_from_item).collect::<StorageResult<_>>()?, next })
}

/// The same cursor `list` hands out, so either read can continue the other.
fn comment_cursor(item: &Item) -> StorageResult<crate::storage::Cursor> {
    let position = std::collections::BTreeMap::from([
        (PK, format!("S:{}", get_s(item, PK)?)),
        (SK, format!("S:{}", get_s(item, SK)?)),
    ]);
    serde_json::to_string(&position).map(crate::storage::Cursor).map_err(|e| StorageError::Other(e.into()))
}

/// Comments after `after`, for `MemeStore::get_with_comments` past its first page.
pub async fn list_after(
    tables: &Tables,
    meme: MemeId,
    after: crate::storage::Cursor,
    limit: usize,
) -> StorageResult<Page<Comment>> {
    DynamoComments { tables: tables.clone() }.list(meme, PageRequest::after(Some(after), limit)).await
}

pub struct DynamoComments {
    tables: Tables,
}

impl DynamoComments {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }

    fn list_query(&self, meme: MemeId) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        comments_of(&self.tables, meme)
    }

    /// Rewrites the newest comments on `#STATS` after a delete, from consistent reads, unless
    /// another change came between the read and the write (then it reads again).
    async fn refresh_latest(&self, meme: MemeId) -> StorageResult<()> {
        let stats_key = key(meme_pk(meme), STATS_SK);
        for _ in 0..8 {
            let Some(stats) = self.tables.get(stats_key.clone(), true, "reading a meme's counters").await? else {
                return Ok(());
            };
            let version: i64 = get_n(&stats, "comments_version")?;
            let newest = self
                .list_query(meme)
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(2)
                .send()
                .await
                .map_err(|e| sdk_error("reading the latest comments", e))?;
            let newest: Vec<Comment> = newest.items().iter().map(comment_from_item).collect::<StorageResult<_>>()?;
            let mut sets = Vec::new();
            let mut removes = Vec::new();
            let mut update = self
                .tables
                .dynamodb
                .update_item()
                .table_name(&self.tables.main)
                .set_key(Some(stats_key.clone()))
                .condition_expression("comments_version = :version")
                .expression_attribute_values(":version", n(version));
            for (i, name) in ["latest1", "latest2"].iter().enumerate() {
                match newest.get(i) {
                    Some(comment) => {
                        sets.push(format!("{name} = :c{i}"));
                        update = update.expression_attribute_values(format!(":c{i}"), comment_value(comment));
                    }
                    None => removes.push(*name),
                }
            }
            let mut expression = String::new();
            if !sets.is_empty() {
                expression.push_str(&format!("SET {}", sets.join(", ")));
            }
            if !removes.is_empty() {
                expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
            }
            match update.update_expression(expression.trim()).send().await {
                Ok(_) => return Ok(()),
                Err(e) if conditional_failed(&e) => continue,
                Err(e) => return Err(sdk_error("updating the latest comments", e)),
            }
        }
        tracing::warn!(%meme, "the latest comments kept changing while being rewritten after a delete");
        Ok(())
    }
}

#[async_trait]
impl CommentStore for DynamoComments {
    async fn add_with_notice(&self, comment: &Comment, mut notice: Option<&Notice>) -> StorageResult<()> {
        let table = &self.tables.main;
        loop {
            let mut items =
                comment_change(table, put_if_new(table, comment_item(comment))?, comment.meme_id, Some(comment))?;
            let notice_at = items.len();
            if let Some(notice) = notice {
                items.extend(notice_writes(table, notice)?);
            }
            return match self.tables.transact(items, "adding a comment").await {
                Ok(()) => Ok(()),
                Err(e) => match e.failed_conditions().as_slice() {
                    [_, _, true, ..] => Err(StorageError::NotFound),
                    [true, ..] => Err(StorageError::Conflict("comment id")),
                    failed if notice.is_some() && notice_refused(failed, notice_at) => {
                        notice = None;
                        continue;
                    }
                    _ => Err(e.into_storage_error()),
                },
            };
        }
    }

    async fn get(&self, meme: MemeId, id: CommentId) -> StorageResult<Option<Comment>> {
        let found = self.tables.get(key(meme_pk(meme), comment_sk(id)), true, "reading a comment").await?;
        found.as_ref().map(comment_from_item).transpose()
    }

    async fn delete(&self, meme: MemeId, id: CommentId) -> StorageResult<()> {
        let table = &self.tables.main;
        let delete = Delete::builder()
            .table_name(table)
            .set_key(Some(key(meme_pk(meme), comment_sk(id))))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .build()
            .map_err(build_error)?;
        let items = comment_change(table, TransactWriteItem::builder().delete(delete).build(), meme, None)?;
        match self.tables.transact(items, "deleting a comment").await {
            Ok(()) => self.refresh_latest(meme).await,
            Err(e) => match e.failed_conditions().as_slice() {
                [true, ..] | [_, _, true, ..] => Err(StorageError::NotFound),
                _ => Err(e.into_storage_error()),
            },
        }
    }

    async fn list(&self, meme: MemeId, page: PageRequest) -> StorageResult<Page<Comment>> {
        let partition = meme_pk(meme);
        query::page(self.list_query(meme), TABLE, &partition, &page, false, "listing comments", comment_from_item).await
    }

    async fn latest(&self, meme: MemeId, n: usize) -> StorageResult<Vec<Comment>> {
        let newest = self
            .list_query(meme)
            .scan_index_forward(false)
            .limit(i32::try_from(n.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| sdk_error("reading the latest comments", e))?;
        let mut comments = newest.items().iter().map(comment_from_item).collect::<StorageResult<Vec<_>>>()?;
        comments.reverse();
        Ok(comments)
    }
}
