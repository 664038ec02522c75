//! Comments in their meme's partition (`MEME#<id>`, sort key `COMMENT#<id>`), so a meme's
//! comments are one Query, oldest first. Adding one is a transaction of the comment's put, an
//! atomic `ADD` on the meme's counters (`#STATS`, in no index), a check that the meme exists and
//! the activity marker the top list is refreshed from; colliding transactions (a viral meme)
//! are tried again with backoff.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};

use super::Tables;
use super::item::{Item, PK, SK, get_s, get_time, key, n, parse_s, put_if_new, s, sdk_error};
use super::memes::{activity_put, build_error, comment_count_update, meme_exists, meme_pk};
use super::query::{self, TABLE};
use crate::domain::{Comment, CommentBody, CommentId, MemeId, UserId, Username};
use crate::storage::{CommentStore, Page, PageRequest, StorageError, StorageResult};

const PREFIX: &str = "COMMENT#";

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
    item
}

fn comment_from_item(item: &Item) -> StorageResult<Comment> {
    Ok(Comment {
        id: parse_s(item, "id", CommentId::parse)?,
        meme_id: parse_s(item, "meme_id", MemeId::parse)?,
        author_id: parse_s(item, "author_id", UserId::parse)?,
        author: parse_s(item, "author", Username::parse)?,
        body: parse_s(item, "body", CommentBody::parse)?,
        created_at: get_time(item, "created_at")?,
    })
}

/// The transaction of a comment's change: the comment's own write, the meme's counter, the
/// check that the meme exists, and the activity marker.
fn comment_change(
    table: &str,
    own: TransactWriteItem,
    meme: MemeId,
    delta: i64,
) -> StorageResult<Vec<TransactWriteItem>> {
    Ok(vec![
        own,
        comment_count_update(table, meme, delta)?,
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
}

#[async_trait]
impl CommentStore for DynamoComments {
    async fn add(&self, comment: &Comment) -> StorageResult<()> {
        let table = &self.tables.main;
        let items = comment_change(table, put_if_new(table, comment_item(comment))?, comment.meme_id, 1)?;
        match self.tables.transact(items, "adding a comment").await {
            Ok(()) => Ok(()),
            Err(e) => match e.failed_conditions().as_slice() {
                [_, _, true, ..] => Err(StorageError::NotFound),
                [true, ..] => Err(StorageError::Conflict("comment id")),
                _ => Err(e.into_storage_error()),
            },
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
        let items = comment_change(table, TransactWriteItem::builder().delete(delete).build(), meme, -1)?;
        match self.tables.transact(items, "deleting a comment").await {
            Ok(()) => Ok(()),
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
