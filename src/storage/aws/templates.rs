//! Templates users shared (`TEMPLATE#<id>`, listed newest first through gsi1 under `TEMPLATES`)
//! and the use counters of every template: `TSTATS#<template>` holds a `TOTAL` item and one
//! `DAY#<date>` item per day with memes, all moved by atomic `ADD`s in the meme's transaction.
//! The day items sort before `TOTAL`, so a template page's numbers and chart are one Query.
//!
//! Each meme on a template also leaves a card in the template's own partition,
//! `TEMPLATE#<id>` / `MEME#<meme id>` (builtin templates have such a partition too, without a
//! template item). `MEME#` sorts before `TEMPLATE`, so one descending Query reads the shared
//! template first and then its newest memes: the template page's second request.

use std::collections::HashMap;

use async_trait::async_trait;

use super::Tables;
use super::item::{
    Item, PK, SK, error_code, find_item, get_key, get_n, get_s, get_time, key, n, parse_s, s, sdk_error,
};
use super::memes::listed_meme_from_item;
use super::query::{self, Access};
use crate::domain::{MemeId, SharedTemplate, TemplateStats, UserId, Username};
use crate::storage::{Page, PageRequest, StorageError, StorageResult, TemplateStore, TemplateWithMemes};

const SHARED: Access = Access::gsi("gsi1", "g1pk", "g1sk");
/// A user's shared templates (gsi2 `TEMPLATES_OF#<owner id>` / `<id>`), removed with the account.
pub const BY_OWNER: Access = Access::gsi("gsi2", "g2pk", "g2sk");
const TEMPLATE_SK: &str = "TEMPLATE";

pub fn owner_pk(owner: UserId) -> String {
    format!("TEMPLATES_OF#{owner}")
}

fn template_pk(id: &str) -> String {
    format!("TEMPLATE#{id}")
}

/// The key of the card of `meme` in its template's partition.
pub fn meme_card_key(template: &str, meme: MemeId) -> Item {
    key(template_pk(template), format!("{MEME_CARD_PREFIX}{meme}"))
}

const MEME_CARD_PREFIX: &str = "MEME#";

fn stats_pk(id: &str) -> String {
    format!("TSTATS#{id}")
}

fn template_item(t: &SharedTemplate) -> Item {
    let mut item = key(template_pk(&t.id), TEMPLATE_SK);
    item.insert("id".into(), s(&t.id));
    item.insert("name".into(), s(&t.name));
    item.insert("owner_id".into(), s(t.owner_id.to_string()));
    item.insert("owner".into(), s(t.owner.as_str()));
    item.insert("original_key".into(), s(t.original_key.as_str()));
    item.insert("thumb_key".into(), s(t.thumb_key.as_str()));
    item.insert("width".into(), n(t.width));
    item.insert("height".into(), n(t.height));
    item.insert("created_at".into(), n(t.created_at.unix_timestamp()));
    item.insert(SHARED.pk.into(), s("TEMPLATES"));
    item.insert(SHARED.sk.into(), s(&t.id));
    item.insert(BY_OWNER.pk.into(), s(owner_pk(t.owner_id)));
    item.insert(BY_OWNER.sk.into(), s(&t.id));
    item
}

pub fn template_from_item(item: &Item) -> StorageResult<SharedTemplate> {
    Ok(SharedTemplate {
        id: get_s(item, "id")?.to_owned(),
        name: get_s(item, "name")?.to_owned(),
        owner_id: parse_s(item, "owner_id", UserId::parse)?,
        owner: parse_s(item, "owner", Username::parse)?,
        original_key: get_key(item, "original_key")?,
        thumb_key: get_key(item, "thumb_key")?,
        width: get_n(item, "width")?,
        height: get_n(item, "height")?,
        created_at: get_time(item, "created_at")?,
    })
}

pub struct DynamoTemplates {
    tables: Tables,
}

impl DynamoTemplates {
    pub fn new(tables: Tables) -> Self {
        Self { tables }
    }
}

#[async_trait]
impl TemplateStore for DynamoTemplates {
    async fn create(&self, template: &SharedTemplate) -> StorageResult<()> {
        let result = self
            .tables
            .dynamodb
            .put_item()
            .table_name(&self.tables.main)
            .set_item(Some(template_item(template)))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if error_code(&e) == Some("ConditionalCheckFailedException") => {
                Err(StorageError::Conflict("template id"))
            }
            Err(e) => Err(sdk_error("sharing a template", e)),
        }
    }

    async fn get(&self, id: &str) -> StorageResult<Option<SharedTemplate>> {
        let found = self.tables.get(key(template_pk(id), TEMPLATE_SK), false, "reading a template").await?;
        found.as_ref().map(template_from_item).transpose()
    }

    async fn list(&self, page: PageRequest) -> StorageResult<Page<SharedTemplate>> {
        let query = self.tables.query_partition(SHARED, "TEMPLATES");
        query::page(query, SHARED, "TEMPLATES", &page, true, "listing templates", template_from_item).await
    }

    async fn stats(&self, template_id: &str, today: time::Date, days: u16) -> StorageResult<TemplateStats> {
        let first = today - time::Duration::days(i64::from(days.saturating_sub(1)));
        let found = self
            .tables
            .dynamodb
            .query()
            .table_name(&self.tables.main)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :first AND :total")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(stats_pk(template_id)))
            .expression_attribute_values(":first", s(format!("DAY#{first}")))
            .expression_attribute_values(":total", s("TOTAL"))
            .send()
            .await
            .map_err(|e| sdk_error("reading a template's use counts", e))?;
        let mut stats = TemplateStats::default();
        let mut per_day = HashMap::new();
        for item in found.items() {
            let sort = get_s(item, SK)?;
            let memes = get_n::<i64>(item, "memes")?.max(0) as u64;
            if sort == "TOTAL" {
                stats.memes = memes;
                stats.remixes = get_n::<i64>(item, "remixes")?.max(0) as u64;
            } else if let Some(day) = sort.strip_prefix("DAY#") {
                per_day.insert(day.to_owned(), memes);
            }
        }
        stats.daily = (0..i64::from(days))
            .map(|i| {
                let day = first + time::Duration::days(i);
                (day, per_day.get(&day.to_string()).copied().unwrap_or(0))
            })
            .collect();
        Ok(stats)
    }

    async fn meme_counts(&self, template_ids: &[String]) -> StorageResult<Vec<u64>> {
        // A batch may not name one key twice.
        let mut distinct: Vec<&String> = template_ids.iter().collect();
        distinct.sort();
        distinct.dedup();
        if distinct.is_empty() {
            return Ok(Vec::new());
        }
        let keys = distinct.iter().map(|id| key(stats_pk(id), "TOTAL")).collect();
        let found = self.tables.batch_get(keys, "reading templates' use counts").await?;
        template_ids
            .iter()
            .map(|id| match find_item(&found, &stats_pk(id), "TOTAL") {
                Some(total) => Ok(get_n::<i64>(total, "memes")?.max(0) as u64),
                None => Ok(0),
            })
            .collect()
    }

    async fn get_with_recent_memes(&self, id: &str, limit: usize) -> StorageResult<TemplateWithMemes> {
        // Newest first: the template item (`TEMPLATE` sorts after every `MEME#`), then the cards.
        let found = self
            .tables
            .query_partition(query::TABLE, &template_pk(id))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| sdk_error("reading a template and its newest memes", e))?;
        let mut result = TemplateWithMemes::default();
        for item in found.items() {
            let sort = get_s(item, SK)?;
            if sort == TEMPLATE_SK {
                result.shared = Some(template_from_item(item)?);
            } else if sort.starts_with(MEME_CARD_PREFIX) && result.recent.len() < limit {
                result.recent.push(listed_meme_from_item(item)?);
            }
        }
        Ok(result)
    }
}
