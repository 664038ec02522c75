//! `PageViews` composed from the other stores, for a backend whose reads are cheap enough to
//! make one by one (the local backend: each is a SQLite query of microseconds).

use std::sync::Arc;

use async_trait::async_trait;

use super::{
    CommentStore, FEED_COMMENTS, MemeOrder, MemeStore, MemeView, MemeWithComments, Page, PageRequest, PageViews,
    Portfolio, Profile, StorageResult, TemplateStore, UserStore,
};
use crate::domain::{MemeId, UserId, Username};

pub struct ComposedViews {
    pub memes: Arc<dyn MemeStore>,
    pub comments: Arc<dyn CommentStore>,
    pub users: Arc<dyn UserStore>,
    pub templates: Arc<dyn TemplateStore>,
    pub profiles: Arc<dyn ProfileQuery>,
}

/// A creator's profile in one read: the account, its subscriber count and whether the viewer
/// follows it (every signed-in portfolio view asks; three reads made it a fifth of the page).
#[async_trait]
pub trait ProfileQuery: Send + Sync {
    async fn profile(&self, creator: &Username, viewer: Option<UserId>) -> StorageResult<Option<Profile>>;
}

#[async_trait]
impl PageViews for ComposedViews {
    async fn portfolio(
        &self,
        creator: &Username,
        viewer: Option<UserId>,
        page: PageRequest,
    ) -> StorageResult<Option<Portfolio>> {
        let Some(profile) = self.profiles.profile(creator, viewer).await? else { return Ok(None) };
        let memes = self.memes.list_by_creator(&profile.creator, page).await?;
        Ok(Some(Portfolio { profile, memes }))
    }

    async fn profile(&self, creator: &Username, viewer: Option<UserId>) -> StorageResult<Option<Profile>> {
        self.profiles.profile(creator, viewer).await
    }

    async fn meme(&self, id: MemeId, comments: PageRequest, remixes: usize) -> StorageResult<Option<MemeView>> {
        let Some((meme, comments)) = self.memes.get_with_comments(id, comments).await? else { return Ok(None) };
        let parent = async {
            match meme.parent_id {
                Some(parent) => self.memes.get(parent).await,
                None => Ok(None),
            }
        };
        let template = async {
            match meme.template_id().filter(|t| crate::render::templates::find(t).is_none()) {
                Some(shared) => self.templates.get(shared).await.map(|t| t.map(|t| t.name)),
                None => Ok(None),
            }
        };
        let (remixes, parent, shared_template_name) =
            tokio::try_join!(self.memes.list_remixes(id, PageRequest::first(remixes)), parent, template)?;
        Ok(Some(MemeView { meme, comments, parent, shared_template_name, remixes: remixes.items }))
    }

    async fn feed(&self, order: MemeOrder, page: PageRequest) -> StorageResult<Page<MemeWithComments>> {
        let memes = self.memes.list(order, page).await?;
        // A meme's comment count is kept with it (in the comment's transaction), so memes
        // nobody commented on need no look in the comments at all.
        let ids: Vec<MemeId> = memes.items.iter().filter(|m| m.comment_count > 0).map(|m| m.id).collect();
        let mut latest = self.comments.latest_of(&ids, FEED_COMMENTS).await?;
        let items = memes
            .items
            .into_iter()
            .map(|meme| MemeWithComments { latest_comments: latest.remove(&meme.id).unwrap_or_default(), meme })
            .collect();
        Ok(Page { items, next: memes.next })
    }
}
