//! Memes in the main table under `MEME#<id>`, with their counters and comments in the same
//! partition (docs/data-model.md):
//!
//! | item | `sk` | |
//! |---|---|---|
//! | the meme | `#MEME` | written once; in gsi1 `FEED`, gsi2 `CREATOR#<username>`, gsi4 `REMIX#<parent>` |
//! | its counters | `#STATS` | `comment_count`, `remix_count`, moved by `ADD`; in no index |
//! | its comments | `COMMENT#<id>` | |
//!
//! The counters live beside the meme, not on it: a comment's `ADD` then rewrites one small item
//! that no index projects, instead of the meme in every index. "Most commented" is not an index
//! either (one partition would take every comment's write): each save, comment and delete puts
//! a marker in a time-and-hash sharded activity partition, and `refresh_rankings` folds the
//! markers since its last run into one materialised list, `TOPLIST`, that the top tab reads.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update};
use time::OffsetDateTime;

use super::Tables;
use super::item::{
    Item, PK, SK, corrupt, find_item, get_key, get_n, get_s, get_time, key, n, parse_s, put_if_new, s, sdk_error,
};
use super::query::{self, Access};
use crate::domain::{Comment, Meme, MemeId, MemeMedia, MemeSource, Notice, User, UserId, Username};
use crate::storage::{Cursor, MemeOrder, MemeStore, Page, PageRequest, StorageError, StorageResult, parse_spec};

/// "#MEME" sorts before "#STATS", and both before "COMMENT#": one Query on the meme's partition
/// returns the meme, its counters, then its comments oldest first.
pub const MEME_SK: &str = "#MEME";
pub const STATS_SK: &str = "#STATS";
pub const FEED: Access = Access::gsi("gsi1", "g1pk", "g1sk");
pub const BY_CREATOR: Access = Access::gsi("gsi2", "g2pk", "g2sk");
pub const REMIXES: Access = Access::gsi("gsi4", "g4pk", "g4sk");

/// Activity markers are spread over this many partitions a minute: 10 million comments an hour
/// (100× the Imagegram forecast) is about 170 writes a second in each, a sixth of what one
/// partition takes.
const ACTIVITY_SHARDS: u64 = 16;
/// The most-commented list keeps this many memes (the top tab pages through them).
pub const TOP_LIST_LEN: usize = 1000;
/// Markers outlive any gap between refreshes (minutes) by far.
const ACTIVITY_KEEP: time::Duration = time::Duration::days(2);
/// A refresh reads at most this many minutes back: after a longer pause (a new table, an
/// outage), what came before has aged out of relevance for "most commented now" anyway.
const MAX_CATCH_UP_MINUTES: i64 = 10;

pub fn meme_pk(id: MemeId) -> String {
    format!("MEME#{id}")
}

pub fn build_error(e: impl std::error::Error + Send + Sync + 'static) -> StorageError {
    StorageError::Other(anyhow::Error::new(e).context("building a DynamoDB request"))
}

fn minute_of(at: OffsetDateTime) -> i64 {
    at.unix_timestamp().div_euclid(60)
}

/// A random shard for each mark: the marks of one viral meme spread over every shard (the
/// refresh reads them all anyway), so no activity partition takes more than 1/16 of the writes.
fn any_shard() -> u64 {
    rand::random::<u64>() % ACTIVITY_SHARDS
}

/// The activity marker of `meme` for the minute of `at`.
pub fn activity_put(table: &str, meme: MemeId, at: OffsetDateTime) -> StorageResult<TransactWriteItem> {
    let mut item = key(format!("ACTIVITY#{}#{}", minute_of(at), any_shard()), meme.to_string());
    item.insert(super::delivery::EXPIRES_AT.into(), n((at + ACTIVITY_KEEP).unix_timestamp()));
    let put = Put::builder().table_name(table).set_item(Some(item)).build().map_err(build_error)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// What a remix's item keeps of its parent (the parent "as it was", for its card).
fn parent_card(parent: &Meme) -> StorageResult<AttributeValue> {
    Ok(AttributeValue::M(card_attributes(parent)?))
}

/// What a card of the meme needs: its own attributes, as `meme_item` writes them, without its
/// keys, index keys and spec. (A meme never changes once written, so a copy stays true.)
fn card_attributes(meme: &Meme) -> StorageResult<Item> {
    let mut card = meme_item(meme)?;
    card.retain(|name, _| !CARD_LEAVES_OUT.contains(&name.as_str()));
    Ok(card)
}

/// The write that keeps the card of a meme on a template in the template's partition
/// (`TEMPLATE#<id>` / `MEME#<meme id>`, which a template page reads): put with the meme,
/// deleted with it.
fn template_card_write(table: &str, template: &str, meme: &Meme, delta: i64) -> StorageResult<TransactWriteItem> {
    let card_key = super::templates::meme_card_key(template, meme.id);
    if delta > 0 {
        let mut item = card_attributes(meme)?;
        item.extend(card_key);
        let put = Put::builder().table_name(table).set_item(Some(item)).build().map_err(build_error)?;
        Ok(TransactWriteItem::builder().put(put).build())
    } else {
        let delete = Delete::builder().table_name(table).set_key(Some(card_key)).build().map_err(build_error)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

/// The attributes of a meme's item that a card leaves out.
const CARD_LEAVES_OUT: [&str; 12] = [
    PK,
    SK,
    FEED.pk,
    FEED.sk,
    BY_CREATOR.pk,
    BY_CREATOR.sk,
    REMIXES.pk,
    REMIXES.sk,
    "spec",
    "parent_id",
    "parent_card",
    "template_name",
];

fn meme_item(meme: &Meme) -> StorageResult<Item> {
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
        MemeSource::Upload { original_key } => put("original_key", s(original_key.as_str())),
    }
    put("captions", s(serde_json::to_string(&meme.captions).map_err(|e| StorageError::Other(e.into()))?));
    put("spec", s(serde_json::to_string(&meme.spec).map_err(|e| StorageError::Other(e.into()))?));
    put("display_key", s(meme.media.display_key.as_str()));
    put("thumb_key", s(meme.media.thumb_key.as_str()));
    put("content_type", s(&meme.media.content_type));
    put("width", n(meme.media.width));
    put("height", n(meme.media.height));
    put("thumb_width", n(meme.media.thumb_width));
    put("thumb_height", n(meme.media.thumb_height));
    put("created_at", n(meme.created_at.unix_timestamp()));
    put(FEED.pk, s("FEED"));
    put(FEED.sk, s(&id));
    put(BY_CREATOR.pk, s(format!("CREATOR#{}", meme.creator)));
    put(BY_CREATOR.sk, s(&id));
    if let Some(name) = &meme.template_name {
        put("template_name", s(name));
    }
    if let Some(parent) = meme.parent_id {
        put("parent_id", s(parent.to_string()));
        put(REMIXES.pk, s(format!("REMIX#{parent}")));
        put(REMIXES.sk, s(&id));
        if let Some(snapshot) = &meme.parent_snapshot {
            put("parent_card", parent_card(snapshot)?);
        }
    }
    Ok(item)
}

/// A meme from its item, with its description. Counters come from the `#STATS` item:
/// `with_stats` sets them.
pub fn meme_from_item(item: &Item) -> StorageResult<Meme> {
    meme_from(item, true)
}

/// A meme in a list: without its description (lists show no boxes, and parsing one for every
/// meme of a page is most of the page's CPU).
pub fn listed_meme_from_item(item: &Item) -> StorageResult<Meme> {
    meme_from(item, false)
}

fn meme_from(item: &Item, with_spec: bool) -> StorageResult<Meme> {
    let source = match (item.get("template_id"), item.get("original_key")) {
        (Some(_), _) => MemeSource::Template(get_s(item, "template_id")?.to_owned()),
        (None, Some(_)) => MemeSource::Upload { original_key: get_key(item, "original_key")? },
        (None, None) => return Err(corrupt("meme", "no template or upload")),
    };
    Ok(Meme {
        id: parse_s(item, "id", MemeId::parse)?,
        creator_id: parse_s(item, "creator_id", UserId::parse)?,
        creator: parse_s(item, "creator", Username::parse)?,
        source,
        parent_id: item.get("parent_id").map(|_| parse_s(item, "parent_id", MemeId::parse)).transpose()?,
        captions: parse_s(item, "captions", |c| serde_json::from_str(c))?,
        spec: item
            .get("spec")
            .filter(|_| with_spec)
            .and_then(|v| v.as_s().ok())
            .map(|s| parse_spec(s))
            .unwrap_or_default(),
        media: MemeMedia {
            display_key: get_key(item, "display_key")?,
            thumb_key: get_key(item, "thumb_key")?,
            content_type: get_s(item, "content_type")?.to_owned(),
            width: get_n(item, "width")?,
            height: get_n(item, "height")?,
            thumb_width: get_n(item, "thumb_width")?,
            thumb_height: get_n(item, "thumb_height")?,
        },
        comment_count: 0,
        remix_count: 0,
        created_at: get_time(item, "created_at")?,
        parent_snapshot: None,
        template_name: None,
    })
}

/// The remix's copy of its parent, and the name of its shared template, from its item.
pub fn snapshots_of(item: &Item) -> StorageResult<(Option<Meme>, Option<String>)> {
    let parent = match item.get("parent_card").and_then(|v| v.as_m().ok()) {
        Some(card) => Some(meme_from_item(card)?),
        None => None,
    };
    let template = item.get("template_name").and_then(|v| v.as_s().ok()).cloned();
    Ok((parent, template))
}

/// Sets a meme's counters from its `#STATS` item (none yet: zeros).
pub fn with_stats(mut meme: Meme, stats: Option<&Item>) -> StorageResult<Meme> {
    if let Some(stats) = stats {
        let count = |name: &str| -> StorageResult<u32> {
            Ok(match stats.get(name) {
                Some(_) => get_n::<i64>(stats, name)?.clamp(0, i64::from(u32::MAX)) as u32,
                None => 0,
            })
        };
        meme.comment_count = count("comment_count")?;
        meme.remix_count = count("remix_count")?;
    }
    Ok(meme)
}

fn stats_update(table: &str, meme: MemeId, expression: &str, delta: i64) -> StorageResult<TransactWriteItem> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(meme_pk(meme), STATS_SK)))
        .update_expression(expression)
        .expression_attribute_values(":d", n(delta))
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// The meme must exist for the transaction to go ahead (a comment on a deleted meme fails).
pub fn meme_exists(table: &str, meme: MemeId) -> StorageResult<TransactWriteItem> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key(meme_pk(meme), MEME_SK)))
        .condition_expression("attribute_exists(#pk)")
        .expression_attribute_names("#pk", PK)
        .build()
        .map_err(build_error)?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// The use counters that follow a meme (its template's totals and day, its parent's remixes),
/// and its card on its template's page. The parent's come last: a check that it still exists,
/// and the `ADD` on its counters.
fn counter_updates(table: &str, meme: &Meme, delta: i64, with_parent: bool) -> StorageResult<Vec<TransactWriteItem>> {
    let mut items = Vec::new();
    if let Some(template) = meme.template_id() {
        let remix = if meme.parent_id.is_some() { delta } else { 0 };
        for (sk, expression) in [
            ("TOTAL".to_owned(), "ADD memes :d, remixes :r"),
            (format!("DAY#{}", meme.created_at.date()), "ADD memes :d"),
        ] {
            let mut update = Update::builder()
                .table_name(table)
                .set_key(Some(key(format!("TSTATS#{template}"), sk)))
                .update_expression(expression)
                .expression_attribute_values(":d", n(delta));
            if expression.contains(":r") {
                update = update.expression_attribute_values(":r", n(remix));
            }
            items.push(TransactWriteItem::builder().update(update.build().map_err(build_error)?).build());
        }
        items.push(template_card_write(table, template, meme, delta)?);
    }
    if let (Some(parent), true) = (meme.parent_id, with_parent) {
        items.push(stats_update(table, parent, "ADD remix_count :d", delta)?);
        items.push(meme_exists(table, parent)?);
    }
    Ok(items)
}

/// One materialised "most commented" list: ids with their counts, best first.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct TopList {
    /// `(meme id, comments)`, sorted by comments then newest.
    entries: Vec<(MemeId, u32)>,
    /// Minutes of activity up to (not including) this one are folded in.
    through_minute: i64,
}

const TOPLIST_PK: &str = "TOPLIST";
const TOPLIST_SK: &str = "TOP";

pub struct DynamoMemes {
    tables: Tables,
}

impl DynamoMemes {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }

    /// Writes the meme (or removes it, `delta` -1) with its counters, its event and its
    /// activity marker in one transaction. If the parent of a remix is gone, its counter is
    /// left out and the rest tried again.
    async fn write(&self, meme: &Meme, delta: i64, mut notice: Option<&Notice>) -> StorageResult<bool> {
        let table = &self.tables.main;
        let mut with_parent = meme.parent_id.is_some();
        loop {
            let mut items = if delta > 0 {
                vec![put_if_new(table, meme_item(meme)?)?, super::notifications::event_put(table, meme)?]
            } else {
                let delete = |sk: &str, condition: bool| -> StorageResult<TransactWriteItem> {
                    let mut builder = Delete::builder().table_name(table).set_key(Some(key(meme_pk(meme.id), sk)));
                    if condition {
                        builder =
                            builder.condition_expression("attribute_exists(#pk)").expression_attribute_names("#pk", PK);
                    }
                    Ok(TransactWriteItem::builder().delete(builder.build().map_err(build_error)?).build())
                };
                // The rest of it (comments, in-app notifications, media) is the worker's, from
                // the "deleted" event: a page never waits for an unbounded delete.
                vec![
                    delete(MEME_SK, true)?,
                    delete(STATS_SK, false)?,
                    super::notifications::event_replace_with_deleted(table, meme)?,
                ]
            };
            items.push(activity_put(table, meme.id, OffsetDateTime::now_utc())?);
            let notice_at = items.len();
            if let Some(notice) = notice {
                items.extend(super::notifications::notice_writes(table, notice)?);
            }
            // The parent's counter last (see below).
            items.extend(counter_updates(table, meme, delta, with_parent)?);
            let result =
                self.tables.transact(items.clone(), if delta > 0 { "saving a meme" } else { "deleting a meme" }).await;
            let error = match result {
                Ok(()) => return Ok(true),
                Err(e) => e,
            };
            let failed = error.failed_conditions();
            if failed.first() == Some(&true) {
                // The meme itself: already there (create) or already gone (delete).
                return if delta > 0 { Err(StorageError::Conflict("meme id")) } else { Ok(false) };
            }
            if notice.is_some() && super::notifications::notice_refused(&failed, notice_at) {
                // Told already (a retried save), or the parent's creator is gone.
                notice = None;
                continue;
            }
            if with_parent && failed.last() == Some(&true) {
                with_parent = false;
                continue;
            }
            return Err(error.into_storage_error());
        }
    }

    /// The `#STATS` items of `memes` in one BatchGetItem, their counters set on each.
    pub async fn with_stats_items(&self, memes: Vec<Meme>) -> StorageResult<Vec<(Meme, Option<Item>)>> {
        if memes.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<Item> = memes.iter().map(|m| key(meme_pk(m.id), STATS_SK)).collect();
        let stats = self.tables.batch_get(keys, "reading memes' counters").await?;
        memes
            .into_iter()
            .map(|meme| {
                let found = find_item(&stats, &meme_pk(meme.id), STATS_SK);
                Ok((with_stats(meme, found)?, found.cloned()))
            })
            .collect()
    }

    /// A page of the feed (newest or top) with each meme's `#STATS` item, in two requests.
    pub async fn list_with_stats(
        &self,
        order: MemeOrder,
        page: PageRequest,
    ) -> StorageResult<Page<(Meme, Option<Item>)>> {
        match order {
            MemeOrder::New => {
                let page = self.page_on(FEED, "FEED", &page).await?;
                Ok(Page { items: self.with_stats_items(page.items).await?, next: page.next })
            }
            MemeOrder::Top => self.top_page(page).await,
        }
    }

    /// A page of memes from an index, newest first, without their counters (zeros).
    pub async fn page_on(&self, access: Access, partition: &str, page: &PageRequest) -> StorageResult<Page<Meme>> {
        let query = self.tables.query_partition(access, partition);
        query::page(query, access, partition, page, true, "listing memes", listed_meme_from_item).await
    }

    async fn list_on(&self, access: Access, partition: String, page: PageRequest) -> StorageResult<Page<Meme>> {
        let page = self.page_on(access, &partition, &page).await?;
        let items = self.with_stats_items(page.items).await?.into_iter().map(|(meme, _)| meme).collect();
        Ok(Page { items, next: page.next })
    }

    /// Memes with their counters (and `#STATS` items), by id, in one BatchGetItem per 50 (each is
    /// two items); deleted ones are absent.
    async fn memes_by_id(
        &self,
        ids: &[MemeId],
        what: &str,
    ) -> StorageResult<std::collections::HashMap<MemeId, (Meme, Option<Item>)>> {
        let mut memes = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(50) {
            let mut keys: Vec<Item> = chunk.iter().map(|id| key(meme_pk(*id), MEME_SK)).collect();
            keys.extend(chunk.iter().map(|id| key(meme_pk(*id), STATS_SK)));
            let items = self.tables.batch_get(keys, what).await?;
            for id in chunk {
                let pk = meme_pk(*id);
                if let Some(item) = find_item(&items, &pk, MEME_SK) {
                    let stats = find_item(&items, &pk, STATS_SK);
                    memes.insert(*id, (with_stats(listed_meme_from_item(item)?, stats)?, stats.cloned()));
                }
            }
        }
        Ok(memes)
    }

    /// The meme partition's first items: the meme, its counters and up to `comments` comments.
    pub async fn read_partition(&self, id: MemeId, comments: usize) -> StorageResult<Vec<Item>> {
        let found = self
            .tables
            .query_partition(query::TABLE, &meme_pk(id))
            .consistent_read(true)
            .limit(i32::try_from(comments + 2).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| sdk_error("reading a meme and its comments", e))?;
        Ok(found.items.unwrap_or_default())
    }

    async fn top_list(&self, consistent: bool) -> StorageResult<(TopList, Option<i128>)> {
        let found = self.tables.get(key(TOPLIST_PK, TOPLIST_SK), consistent, "reading the top list").await?;
        let Some(item) = found else { return Ok((TopList::default(), None)) };
        let list = parse_s(&item, "list", |json| serde_json::from_str::<TopList>(json))?;
        Ok((list, Some(get_n(&item, "version")?)))
    }

    async fn top_page(&self, page: PageRequest) -> StorageResult<Page<(Meme, Option<Item>)>> {
        let offset = match &page.after {
            None => 0,
            Some(Cursor(c)) => {
                c.strip_prefix("TOP:").and_then(|o| o.parse::<usize>().ok()).ok_or(StorageError::InvalidCursor)?
            }
        };
        let (list, _) = self.top_list(false).await?;
        let slice: Vec<(MemeId, u32)> = list.entries.iter().skip(offset).take(page.limit).copied().collect();
        let next = (offset + slice.len() < list.entries.len() && !slice.is_empty())
            .then(|| Cursor(format!("TOP:{}", offset + slice.len())));
        // The memes and their counters in one request (the list's counts may be seconds old).
        let ids: Vec<MemeId> = slice.iter().map(|(id, _)| *id).collect();
        let mut found = self.memes_by_id(&ids, "reading the top memes").await?;
        // A meme deleted since the last refresh is simply left out.
        let memes = ids.iter().filter_map(|id| found.remove(id)).collect();
        Ok(Page { items: memes, next })
    }
}

#[async_trait]
impl MemeStore for DynamoMemes {
    #[tracing::instrument(skip_all, fields(meme = %meme.id))]
    async fn create_with_notice(&self, meme: &Meme, notice: Option<&Notice>) -> StorageResult<()> {
        self.write(meme, 1, notice).await.map(|_| ())
    }

    async fn get(&self, id: MemeId) -> StorageResult<Option<Meme>> {
        // The meme and its counters: the partition's items before "COMMENT#".
        let found = self
            .tables
            .query_partition(query::TABLE, &meme_pk(id))
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :hash)")
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":hash", s("#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("reading a meme", e))?;
        Ok(split_partition(found.items.unwrap_or_default(), 0)?.map(|(meme, _, _)| meme))
    }

    async fn get_with_comments(
        &self,
        id: MemeId,
        comments: PageRequest,
    ) -> StorageResult<Option<(Meme, Page<Comment>)>> {
        if let Some(after) = &comments.after {
            // A later page of comments: the meme item is not on it.
            let Some(meme) = self.get(id).await? else { return Ok(None) };
            let page = super::comments::list_after(&self.tables, id, after.clone(), comments.limit).await?;
            return Ok(Some((meme, page)));
        }
        let items = self.read_partition(id, comments.limit + 1).await?;
        Ok(split_partition(items, comments.limit)?.map(|(meme, page, _)| (meme, page)))
    }

    #[tracing::instrument(skip(self))]
    async fn delete(&self, id: MemeId) -> StorageResult<Option<Meme>> {
        let Some(meme) = self.get(id).await? else { return Ok(None) };
        if !self.write(&meme, -1, None).await? {
            return Ok(None);
        }
        Ok(Some(meme))
    }

    async fn list(&self, order: MemeOrder, page: PageRequest) -> StorageResult<Page<Meme>> {
        match order {
            MemeOrder::New => self.list_on(FEED, "FEED".into(), page).await,
            MemeOrder::Top => {
                let page = self.top_page(page).await?;
                Ok(Page { items: page.items.into_iter().map(|(meme, _)| meme).collect(), next: page.next })
            }
        }
    }

    async fn list_by_creator(&self, creator: &User, page: PageRequest) -> StorageResult<Page<Meme>> {
        // Listed by username: a portfolio knows only the name.
        self.list_on(BY_CREATOR, format!("CREATOR#{}", creator.username), page).await
    }

    async fn list_remixes(&self, parent: MemeId, page: PageRequest) -> StorageResult<Page<Meme>> {
        self.list_on(REMIXES, format!("REMIX#{parent}"), page).await
    }

    async fn purge(&self, deleted: &crate::domain::MemeDeleted) -> StorageResult<()> {
        super::comments::delete_all(&self.tables, deleted.meme_id).await?;
        super::notifications::delete_inbox_items(&self.tables, deleted).await
    }

    /// Folds the activity markers since the last refresh into the top list. Instances may
    /// refresh at once: the list is written only over the version read, so one of them wins
    /// and the other's next refresh starts from the winner's list.
    async fn refresh_rankings(&self, now: OffsetDateTime) -> StorageResult<()> {
        let (mut list, version) = self.top_list(true).await?;
        let current = minute_of(now);
        // A table without a list yet is new: its markers are at most a minute or so old.
        let first = match version {
            None => current - 1,
            Some(_) => list.through_minute.max(current - MAX_CATCH_UP_MINUTES),
        };
        let mut touched = std::collections::BTreeSet::new();
        // The current minute is read again next time: markers may still arrive in it.
        for minute in first..=current {
            for shard in 0..ACTIVITY_SHARDS {
                let partition = format!("ACTIVITY#{minute}#{shard}");
                let query = self
                    .tables
                    .query_partition(query::TABLE, &partition)
                    .projection_expression("#sk")
                    .expression_attribute_names("#sk", SK);
                for item in self.tables.query_all(query, "reading activity").await? {
                    touched.insert(parse_s(&item, SK, MemeId::parse)?);
                }
            }
        }
        if touched.is_empty() && version.is_some() {
            return Ok(());
        }
        let ids: Vec<MemeId> = touched.into_iter().collect();
        // A meme without its item was deleted: it leaves the list.
        let mut current_memes = self.memes_by_id(&ids, "reading counters for the top list").await?;
        let fresh: std::collections::HashMap<MemeId, Option<u32>> =
            ids.iter().map(|id| (*id, current_memes.remove(id).map(|(m, _)| m.comment_count))).collect();
        list.entries.retain(|(id, _)| !fresh.contains_key(id));
        list.entries.extend(fresh.into_iter().filter_map(|(id, count)| count.map(|c| (id, c))));
        list.entries.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        list.entries.truncate(TOP_LIST_LEN);
        list.through_minute = current;
        let json = serde_json::to_string(&list).map_err(|e| StorageError::Other(e.into()))?;
        let mut item = key(TOPLIST_PK, TOPLIST_SK);
        item.insert("list".into(), s(json));
        item.insert("version".into(), n(version.unwrap_or(0) + 1));
        let mut put = self.tables.dynamodb.put_item().table_name(&self.tables.main).set_item(Some(item));
        put = match version {
            Some(v) => put.condition_expression("version = :v").expression_attribute_values(":v", n(v)),
            None => put.condition_expression("attribute_not_exists(#pk)").expression_attribute_names("#pk", PK),
        };
        match put.send().await {
            Ok(_) => Ok(()),
            // Another instance refreshed first: its list stands.
            Err(e) if super::item::conditional_failed(&e) => Ok(()),
            Err(e) => Err(sdk_error("writing the top list", e)),
        }
    }
}

/// A meme partition's first items as the meme (with its counters), its first comments (up to
/// `limit`, with the cursor past them), and its item's snapshots.
pub fn split_partition(items: Vec<Item>, limit: usize) -> StorageResult<Option<(Meme, Page<Comment>, Item)>> {
    let mut items = items.into_iter().peekable();
    let sk_is = |item: &Item, sk: &str| item.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str) == Some(sk);
    let Some(meme_item) = items.next_if(|i| sk_is(i, MEME_SK)) else { return Ok(None) };
    let stats = items.next_if(|i| sk_is(i, STATS_SK));
    let meme = with_stats(meme_from_item(&meme_item)?, stats.as_ref())?;
    let comments = super::comments::page_from_items(items.collect(), limit)?;
    Ok(Some((meme, comments, meme_item)))
}
