//! Comments in their meme's partition (`MEME#<id>`, sort key `COMMENT#<id>`), so a meme's
//! comments are one Query, oldest first, and they go with the meme. Adding one is a transaction
//! of the comment's put and an atomic `ADD` on the meme's count and top score, conditioned on
//! the meme existing.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};

use super::Tables;
use super::item::{Item, PK, SK, get_s, get_time, key, n, parse_s, put_if_new, s, sdk_error};
use super::memes::{COMMENT_SCORE, MEME_SK, build_error, failed_conditions, meme_pk};
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

/// Moves the meme's comment count (and with it its place in the top index) by `delta`.
fn count_update(table: &str, meme: MemeId, delta: i64) -> StorageResult<TransactWriteItem> {
    let score = i128::from(delta) * COMMENT_SCORE as i128;
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(meme_pk(meme), MEME_SK)))
        .update_expression("ADD comment_count :d, top_score :score")
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_values(":d", n(delta))
        .expression_attribute_values(":score", n(score))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
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
        let result = self
            .tables
            .dynamodb
            .transact_write_items()
            .transact_items(put_if_new(table, comment_item(comment))?)
            .transact_items(count_update(table, comment.meme_id, 1)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match failed_conditions(&e).as_deref() {
                Some([_, true]) => Err(StorageError::NotFound),
                Some([true, _]) => Err(StorageError::Conflict("comment id")),
                _ => Err(sdk_error("adding a comment", e)),
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
        let result = self
            .tables
            .dynamodb
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(count_update(table, meme, -1)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match failed_conditions(&e).as_deref() {
                Some([true, _]) => Err(StorageError::NotFound),
                _ => Err(sdk_error("deleting a comment", e)),
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
