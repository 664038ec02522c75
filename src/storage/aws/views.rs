//! The busiest pages' reads on DynamoDB, each in two requests (plus the session's, SPEC §7's
//! three in all):
//!
//! - a portfolio: `Query gsi2 CREATOR#<username>` for a page of memes, then one `BatchGetItem`
//!   of the username claim (the account and its subscriber count), the viewer's subscription
//!   item (`SUBS#<username>`/`<viewer>`: "am I subscribed") and the memes' counters;
//! - a meme: `Query MEME#<id>` (the meme, its counters, its first comments) beside
//!   `Query gsi4 REMIX#<id>` (its newest remixes); a remix's parent and a shared template's name
//!   are kept on the meme's item when it is saved, so they cost no read.

use async_trait::async_trait;

use super::Tables;
use super::item::{Item, PK, SK, key};
use super::memes::{BY_CREATOR, DynamoMemes, STATS_SK, meme_pk, snapshots_of, split_partition, with_stats};
use super::query;
use super::subscriptions::{subscriber_count_of, subscription_key};
use super::users::{user_from_item, username_claim_key};
use crate::domain::{MemeId, UserId, Username};
use crate::storage::{MemeView, PageRequest, PageViews, Portfolio, StorageResult};

pub struct DynamoViews {
    tables: Tables,
    memes: DynamoMemes,
}

impl DynamoViews {
    pub fn new(tables: Tables) -> Self {
        Self { memes: DynamoMemes::new(tables.clone()), tables }
    }
}

fn is_item(item: &Item, pk: &str, sk: &str) -> bool {
    item.get(PK).and_then(|v| v.as_s().ok()).map(String::as_str) == Some(pk)
        && item.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str) == Some(sk)
}

#[async_trait]
impl PageViews for DynamoViews {
    async fn portfolio(
        &self,
        creator: &Username,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StorageResult<Option<Portfolio>> {
        let partition = format!("CREATOR#{creator}");
        let query = self.tables.query_partition(BY_CREATOR, &partition);
        let memes =
            query::page(query, BY_CREATOR, &partition, &page, true, "listing memes", super::memes::meme_from_item)
                .await?;
        let claim_key = username_claim_key(creator);
        let mut keys = vec![claim_key.clone()];
        if let Some(viewer) = viewer {
            keys.push(subscription_key(creator, viewer));
        }
        keys.extend(memes.items.iter().map(|m| key(meme_pk(m.id), STATS_SK)));
        let found = self.tables.batch_get(keys, "reading a portfolio").await?;
        let claim_pk = claim_key.get(PK).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        let Some(claim) = found.iter().find(|i| is_item(i, &claim_pk, "CLAIM")) else { return Ok(None) };
        let account = user_from_item(claim)?;
        let viewer_subscribed = match viewer {
            Some(viewer) if viewer != account.id => {
                let subscription = subscription_key(creator, viewer);
                let (pk, sk) = (
                    subscription.get(PK).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default(),
                    subscription.get(SK).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default(),
                );
                found.iter().any(|i| is_item(i, &pk, &sk))
            }
            _ => false,
        };
        let items = memes
            .items
            .into_iter()
            .map(|meme| {
                let stats = found.iter().find(|i| is_item(i, &meme_pk(meme.id), STATS_SK));
                with_stats(meme, stats)
            })
            .collect::<StorageResult<Vec<_>>>()?;
        Ok(Some(Portfolio {
            subscribers: subscriber_count_of(claim)?,
            creator: account,
            viewer_subscribed,
            memes: crate::storage::Page { items, next: memes.next },
        }))
    }

    async fn meme(&self, id: MemeId, comments: PageRequest, remixes: usize) -> StorageResult<Option<MemeView>> {
        let (partition, remixes) = tokio::try_join!(
            self.memes.read_partition(id, comments.limit + 1),
            // Read without their counters: the page has no request left for them.
            async {
                let partition = format!("REMIX#{id}");
                let query = self.tables.query_partition(super::memes::REMIXES, &partition);
                let request = PageRequest::first(remixes);
                query::page(
                    query,
                    super::memes::REMIXES,
                    &partition,
                    &request,
                    true,
                    "listing remixes",
                    super::memes::meme_from_item,
                )
                .await
            },
        )?;
        let Some((meme, comments, item)) = split_partition(partition, comments.limit)? else { return Ok(None) };
        let (parent, shared_template_name) = snapshots_of(&item)?;
        Ok(Some(MemeView { meme, comments, parent, shared_template_name, remixes: remixes.items }))
    }
}
