//! Memes in the main table under `MEME#<id>`, with their comments in the same partition. Each
//! list the site shows is one Query on an index (docs/data-model.md):
//!
//! | list | index | partition | sort |
//! |---|---|---|---|
//! | newest | gsi1 | `FEED` | meme id |
//! | a creator's | gsi2 | `CREATOR#<user id>` | meme id |
//! | most commented | gsi3 | `TOP` | `top_score` (number) |
//! | a meme's remixes | gsi4 | `REMIX#<parent id>` | meme id |
//!
//! `top_score` is `comment_count × 10^26 + (id >> 42)`: comments first, then time. Adding or
//! removing a comment is one atomic `ADD` to both numbers, so the meme moves in the index
//! without a read-modify-write race.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem, Update};
use aws_smithy_runtime_api::client::result::SdkError;

use super::Tables;
use super::item::{Item, PK, SK, corrupt, get_n, get_s, get_time, key, n, parse_s, put_if_new, s, sdk_error};
use super::query::{self, Access};
use crate::domain::{Comment, Meme, MemeId, MemeMedia, MemeSource, UserId, Username};
use crate::storage::{MemeOrder, MemeStore, Page, PageRequest, StorageError, StorageResult};

/// "#" sorts before "COMMENT#", so one Query on the meme's partition returns the meme first,
/// then its comments oldest first.
pub const MEME_SK: &str = "#MEME";
const FEED: Access = Access::gsi("gsi1", "g1pk", "g1sk");
const BY_CREATOR: Access = Access::gsi("gsi2", "g2pk", "g2sk");
const TOP: Access = Access::gsi("gsi3", "g3pk", "top_score");
const REMIXES: Access = Access::gsi("gsi4", "g4pk", "g4sk");

/// One comment's weight in `top_score`: above every time part (`id >> 42` < 2^86 < 10^26),
/// leaving 12 digits of DynamoDB's 38 for the count.
pub const COMMENT_SCORE: u128 = 10u128.pow(26);

pub fn meme_pk(id: MemeId) -> String {
    format!("MEME#{id}")
}

fn top_score(comment_count: u32, id: MemeId) -> u128 {
    u128::from(comment_count) * COMMENT_SCORE + (id.as_u128() >> 42)
}

pub fn build_error(e: impl std::error::Error + Send + Sync + 'static) -> StorageError {
    StorageError::Other(anyhow::Error::new(e).context("building a DynamoDB request"))
}

fn meme_item(meme: &Meme) -> Item {
    let id = meme.id.to_string();
    let mut item = key(meme_pk(meme.id), MEME_SK);
    let mut put = |name: &str, value| {
        item.insert(name.to_owned(), value);
    };
    put("id", s(&id));
    put("creator_id", s(meme.creator_id.to_string()));
    put("creator", s(meme.creator.as_str()));
    match &meme.source {
        MemeSource::Template(template) => put("template_id", s(template)),
        MemeSource::Upload { original_key } => put("original_key", s(original_key)),
    }
    put("captions", s(serde_json::to_string(&meme.captions).unwrap_or_else(|_| "[]".into())));
    put("spec", s(&meme.spec_json));
    put("display_key", s(&meme.media.display_key));
    put("thumb_key", s(&meme.media.thumb_key));
    put("content_type", s(&meme.media.content_type));
    put("width", n(meme.media.width));
    put("height", n(meme.media.height));
    put("thumb_width", n(meme.media.thumb_width));
    put("thumb_height", n(meme.media.thumb_height));
    put("comment_count", n(meme.comment_count));
    put("remix_count", n(meme.remix_count));
    put("created_at", n(meme.created_at.unix_timestamp()));
    put(FEED.pk, s("FEED"));
    put(FEED.sk, s(&id));
    put(BY_CREATOR.pk, s(format!("CREATOR#{}", meme.creator_id)));
    put(BY_CREATOR.sk, s(&id));
    put(TOP.pk, s("TOP"));
    put(TOP.sk, n(top_score(meme.comment_count, meme.id)));
    if let Some(parent) = meme.parent_id {
        put("parent_id", s(parent.to_string()));
        put(REMIXES.pk, s(format!("REMIX#{parent}")));
        put(REMIXES.sk, s(&id));
    }
    item
}

pub fn meme_from_item(item: &Item) -> StorageResult<Meme> {
    let source = match (item.get("template_id"), item.get("original_key")) {
        (Some(_), _) => MemeSource::Template(get_s(item, "template_id")?.to_owned()),
        (None, Some(_)) => MemeSource::Upload { original_key: get_s(item, "original_key")?.to_owned() },
        (None, None) => return Err(corrupt("meme", "no template or upload")),
    };
    Ok(Meme {
        id: parse_s(item, "id", MemeId::parse)?,
        creator_id: parse_s(item, "creator_id", UserId::parse)?,
        creator: parse_s(item, "creator", Username::parse)?,
        source,
        parent_id: item.get("parent_id").map(|_| parse_s(item, "parent_id", MemeId::parse)).transpose()?,
        captions: parse_s(item, "captions", |c| serde_json::from_str(c))?,
        spec_json: get_s(item, "spec")?.to_owned(),
        media: MemeMedia {
            display_key: get_s(item, "display_key")?.to_owned(),
            thumb_key: get_s(item, "thumb_key")?.to_owned(),
            content_type: get_s(item, "content_type")?.to_owned(),
            width: get_n(item, "width")?,
            height: get_n(item, "height")?,
            thumb_width: get_n(item, "thumb_width")?,
            thumb_height: get_n(item, "thumb_height")?,
        },
        comment_count: get_n::<i64>(item, "comment_count")?.max(0) as u32,
        remix_count: get_n::<i64>(item, "remix_count")?.max(0) as u32,
        created_at: get_time(item, "created_at")?,
    })
}

/// The use counters that follow a meme (its template's totals and day, its parent's remixes),
/// as updates of one transaction. The parent's only applies while the parent exists.
fn counter_updates(table: &str, meme: &Meme, delta: i64, with_parent: bool) -> StorageResult<Vec<TransactWriteItem>> {
    let mut updates = Vec::new();
    if let Some(template) = meme.template_id() {
        let remix = if meme.parent_id.is_some() { delta } else { 0 };
        updates.push(
            Update::builder()
                .table_name(table)
                .set_key(Some(key(format!("TSTATS#{template}"), "TOTAL")))
                .update_expression("ADD memes :d, remixes :r")
                .expression_attribute_values(":d", n(delta))
                .expression_attribute_values(":r", n(remix))
                .build()
                .map_err(build_error)?,
        );
        updates.push(
            Update::builder()
                .table_name(table)
                .set_key(Some(key(format!("TSTATS#{template}"), format!("DAY#{}", meme.created_at.date()))))
                .update_expression("ADD memes :d")
                .expression_attribute_values(":d", n(delta))
                .build()
                .map_err(build_error)?,
        );
    }
    if let (Some(parent), true) = (meme.parent_id, with_parent) {
        updates.push(
            Update::builder()
                .table_name(table)
                .set_key(Some(key(meme_pk(parent), MEME_SK)))
                .update_expression("ADD remix_count :d")
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":d", n(delta))
                .build()
                .map_err(build_error)?,
        );
    }
    Ok(updates.into_iter().map(|u| TransactWriteItem::builder().update(u).build()).collect())
}

/// Which items of a cancelled transaction failed their condition, in request order.
pub fn failed_conditions<R>(error: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<bool>> {
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .map(|reason| reason.code() == Some("ConditionalCheckFailed"))
                .collect(),
        ),
        _ => None,
    }
}

pub struct DynamoMemes {
    tables: Tables,
}

impl DynamoMemes {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }

    /// Writes the meme (or removes it, `delta` -1) with its counters in one transaction. If
    /// the parent of a remix is gone, the remix counter is left out and the rest retried.
    async fn write(&self, meme: &Meme, delta: i64) -> StorageResult<bool> {
        let table = &self.tables.main;
        let mut with_parent = meme.parent_id.is_some();
        loop {
            let own = if delta > 0 {
                put_if_new(table, meme_item(meme))?
            } else {
                let delete = Delete::builder()
                    .table_name(table)
                    .set_key(Some(key(meme_pk(meme.id), MEME_SK)))
                    .condition_expression("attribute_exists(#pk)")
                    .expression_attribute_names("#pk", PK)
                    .build()
                    .map_err(build_error)?;
                TransactWriteItem::builder().delete(delete).build()
            };
            // The notification event goes and comes with the meme; the parent's counter, whose
            // condition may fail, stays last (see below).
            let event = if delta > 0 {
                super::notifications::event_put(table, meme)?
            } else {
                super::notifications::event_delete(table, meme.id)?
            };
            let mut items = vec![own, event];
            items.extend(counter_updates(table, meme, delta, with_parent)?);
            let result = self.tables.dynamodb.transact_write_items().set_transact_items(Some(items)).send().await;
            let error = match result {
                Ok(_) => return Ok(true),
                Err(e) => e,
            };
            let failed = failed_conditions(&error).unwrap_or_default();
            if failed.first() == Some(&true) {
                // The meme itself: already there (create) or already gone (delete).
                return if delta > 0 { Err(StorageError::Conflict("meme id")) } else { Ok(false) };
            }
            if with_parent && failed.last() == Some(&true) {
                with_parent = false;
                continue;
            }
            return Err(sdk_error(if delta > 0 { "saving a meme" } else { "deleting a meme" }, error));
        }
    }

    async fn list_on(&self, access: Access, partition: String, page: PageRequest) -> StorageResult<Page<Meme>> {
        let query = self.tables.query_partition(access, &partition);
        query::page(query, access, &partition, &page, true, "listing memes", meme_from_item).await
    }
}

#[async_trait]
impl MemeStore for DynamoMemes {
    #[tracing::instrument(skip_all, fields(meme = %meme.id))]
    async fn create(&self, meme: &Meme) -> StorageResult<()> {
        self.write(meme, 1).await.map(|_| ())
    }

    async fn get(&self, id: MemeId) -> StorageResult<Option<Meme>> {
        let found = self.tables.get(key(meme_pk(id), MEME_SK), true, "reading a meme").await?;
        found.as_ref().map(meme_from_item).transpose()
    }

    async fn get_with_comments(
        &self,
        id: MemeId,
        comments: PageRequest,
    ) -> StorageResult<Option<(Meme, Page<Comment>)>> {
        let partition = meme_pk(id);
        if let Some(after) = &comments.after {
            // A later page of comments: the meme item is not on it.
            let Some(meme) = self.get(id).await? else { return Ok(None) };
            let page = super::comments::list_after(&self.tables, id, after.clone(), comments.limit).await?;
            return Ok(Some((meme, page)));
        }
        let found = self
            .tables
            .query_partition(query::TABLE, &partition)
            .consistent_read(true)
            // The meme, a page of comments, and one more to know whether a next page exists.
            .limit(i32::try_from(comments.limit + 2).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| sdk_error("reading a meme and its comments", e))?;
        let mut items = found.items.unwrap_or_default().into_iter();
        let Some(meme) =
            items.next().filter(|first| first.get(SK).and_then(|v| v.as_s().ok()) == Some(&MEME_SK.to_owned()))
        else {
            return Ok(None);
        };
        let rest: Vec<Item> = items.collect();
        let page = super::comments::page_from_items(rest, comments.limit)?;
        Ok(Some((meme_from_item(&meme)?, page)))
    }

    #[tracing::instrument(skip(self))]
    async fn delete(&self, id: MemeId) -> StorageResult<Option<Meme>> {
        let Some(meme) = self.get(id).await? else { return Ok(None) };
        if !self.write(&meme, -1).await? {
            return Ok(None);
        }
        // Comments and in-app notifications can be many, more than a transaction holds (100
        // items); nothing shows them without the meme, so they go right after it.
        super::comments::delete_all(&self.tables, id).await?;
        super::notifications::delete_inbox_items(&self.tables, &meme).await?;
        Ok(Some(meme))
    }

    async fn list(&self, order: MemeOrder, page: PageRequest) -> StorageResult<Page<Meme>> {
        match order {
            MemeOrder::New => self.list_on(FEED, "FEED".into(), page).await,
            MemeOrder::Top => self.list_on(TOP, "TOP".into(), page).await,
        }
    }

    async fn list_by_creator(&self, creator: UserId, page: PageRequest) -> StorageResult<Page<Meme>> {
        self.list_on(BY_CREATOR, format!("CREATOR#{creator}"), page).await
    }

    async fn list_remixes(&self, parent: MemeId, page: PageRequest) -> StorageResult<Page<Meme>> {
        self.list_on(REMIXES, format!("REMIX#{parent}"), page).await
    }
}
