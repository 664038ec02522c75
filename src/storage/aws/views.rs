//! The busiest pages' reads on DynamoDB, each in two requests (plus the session's, SPEC §7's
//! three in all):
//!
//! - a portfolio: `Query gsi2 CREATOR#<username>` for a page of memes, then one `BatchGetItem`
//!   of the username claim (the account and its subscriber count), the viewer's subscription
//!   item (`SUBS#<username>`/`<viewer>`: "am I subscribed") and the memes' counters;
//! - a meme: `Query MEME#<id>` (the meme, its counters, its first comments) beside
//!   `Query gsi4 REMIX#<id>` (its newest remixes); a remix's parent and a shared template's name
//!   are kept on the meme's item when it is saved, so they cost no read;
//! - the API's feed: the home page's list (`Query gsi1 FEED`, or the materialised top list, then
//!   one `BatchGetItem` of the memes' counters), whose `#STATS` items also carry each meme's two
//!   newest comments.

use async_trait::async_trait;

use super::Tables;
use super::comments::latest_from_stats;
use super::item::{Item, find_item, find_key, key};
use super::memes::{BY_CREATOR, DynamoMemes, REMIXES, STATS_SK, meme_pk, snapshots_of, split_partition, with_stats};
use super::subscriptions::{subscriber_count_of, subscription_key};
use super::users::{user_from_item, username_claim_key};
use crate::domain::{MemeId, UserId, Username};
use crate::storage::{
    MemeOrder, MemeView, MemeWithComments, Page, PageRequest, PageViews, Portfolio, Profile, StorageResult,
};

pub struct DynamoViews {
    tables: Tables,
    memes: DynamoMemes,
}

impl DynamoViews {
    pub fn new(tables: Tables) -> Self {
        Self { memes: DynamoMemes::new(tables.clone()), tables }
    }
}

/// The creator (from their username claim, with its subscriber count) and whether the viewer
/// follows them, from items read together.
fn profile_from(
    found: &[Item],
    claim_key: &Item,
    subscription: Option<&Item>,
    viewer: Option<UserId>,
) -> StorageResult<Option<Profile>> {
    let Some(claim) = find_key(found, claim_key) else { return Ok(None) };
    let creator = user_from_item(claim)?;
    // Nobody is subscribed to themself.
    let viewer_subscribed =
        viewer != Some(creator.id) && subscription.is_some_and(|subscription| find_key(found, subscription).is_some());
    Ok(Some(Profile { subscribers: subscriber_count_of(claim)?, creator, viewer_subscribed }))
}

#[async_trait]
impl PageViews for DynamoViews {
    async fn portfolio(
        &self,
        creator: &Username,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StorageResult<Option<Portfolio>> {
        let memes = self.memes.page_on(BY_CREATOR, &format!("CREATOR#{creator}"), &page).await?;
        let claim_key = username_claim_key(creator);
        let subscription = viewer.map(|viewer| subscription_key(creator, viewer));
        let mut keys = vec![claim_key.clone()];
        keys.extend(subscription.clone());
        keys.extend(memes.items.iter().map(|m| key(meme_pk(m.id), STATS_SK)));
        let found = self.tables.batch_get(keys, "reading a portfolio").await?;
        let Some(profile) = profile_from(&found, &claim_key, subscription.as_ref(), viewer)? else { return Ok(None) };
        let items = memes
            .items
            .into_iter()
            .map(|meme| {
                let stats = find_item(&found, &meme_pk(meme.id), STATS_SK);
                with_stats(meme, stats)
            })
            .collect::<StorageResult<Vec<_>>>()?;
        Ok(Some(Portfolio { profile, memes: crate::storage::Page { items, next: memes.next } }))
    }

    /// One `BatchGetItem`: the username claim and the viewer's subscription item.
    async fn profile(&self, creator: &Username, viewer: Option<UserId>) -> StorageResult<Option<Profile>> {
        let claim_key = username_claim_key(creator);
        let subscription = viewer.map(|viewer| subscription_key(creator, viewer));
        let mut keys = vec![claim_key.clone()];
        keys.extend(subscription.clone());
        let found = self.tables.batch_get(keys, "reading a profile").await?;
        profile_from(&found, &claim_key, subscription.as_ref(), viewer)
    }

    async fn meme(&self, id: MemeId, comments: PageRequest, remixes: usize) -> StorageResult<Option<MemeView>> {
        let (remix_partition, newest) = (format!("REMIX#{id}"), PageRequest::first(remixes));
        let (partition, remixes) = tokio::try_join!(
            self.memes.read_partition(id, comments.limit + 1),
            // Read without their counters: the page has no request left for them.
            self.memes.page_on(REMIXES, &remix_partition, &newest),
        )?;
        let Some((meme, comments, item)) = split_partition(partition, comments.limit)? else { return Ok(None) };
        let (parent, shared_template_name) = snapshots_of(&item)?;
        Ok(Some(MemeView { meme, comments, parent, shared_template_name, remixes: remixes.items }))
    }

    async fn feed(&self, order: MemeOrder, page: PageRequest) -> StorageResult<Page<MemeWithComments>> {
        // The newest comments ride on the `#STATS` items the list reads for its counters.
        let page = self.memes.list_with_stats(order, page).await?;
        let items = page
            .items
            .into_iter()
            .map(|(meme, stats)| Ok(MemeWithComments { latest_comments: latest_from_stats(stats.as_ref())?, meme }))
            .collect::<StorageResult<_>>()?;
        Ok(Page { items, next: page.next })
    }
}
