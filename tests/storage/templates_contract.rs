//! Contract tests for what the template picker and a template's page read (issue 15): use
//! counts of many templates at once, and a template with the newest memes made with it.

use skyhigh::domain::{Meme, MemeId, MemeSource, SharedTemplate, User};
use skyhigh::storage::Storage;
use time::OffsetDateTime;

use crate::site_contract::{key, meme_by, user};

async fn shared_by(storage: &Storage, owner: &User, name: &str) -> SharedTemplate {
    let template = SharedTemplate {
        id: format!("u-{}", MemeId::new()),
        name: name.into(),
        owner_id: owner.id,
        owner: owner.username.clone(),
        original_key: key("templates/x/original.png"),
        thumb_key: key("templates/x/thumb.jpg"),
        width: 640,
        height: 480,
        created_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
    };
    storage.templates.create(&template).await.unwrap();
    template
}

async fn made_with(storage: &Storage, creator: &User, template: &str) -> Meme {
    let meme = meme_by(creator, template, None);
    storage.memes.create(&meme).await.unwrap();
    meme
}

/// What a card shows of a meme, which a listed meme must carry.
fn card(meme: &Meme) -> impl PartialEq + std::fmt::Debug {
    (
        meme.id,
        meme.creator.clone(),
        meme.creator_id,
        meme.template_id().map(str::to_owned),
        meme.captions.clone(),
        meme.media.clone(),
        meme.created_at,
    )
}

pub async fn use_counts_of_many_templates_come_back_in_the_order_asked(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let gradient = shared_by(storage, &ann, "Gradient").await;
    let first_rocket = made_with(storage, &ann, "rocket").await;
    made_with(storage, &ann, "rocket").await;
    made_with(storage, &ann, "chelsea").await;
    made_with(storage, &ann, &gradient.id).await;
    let mut upload = meme_by(&ann, "chelsea", None);
    upload.source = MemeSource::Upload { original_key: key("originals/x.png") };
    storage.memes.create(&upload).await.unwrap();
    let asked: Vec<String> =
        ["chelsea", "rocket", "never-used", gradient.id.as_str(), "rocket"].map(str::to_owned).to_vec();

    let counts = storage.templates.meme_counts(&asked).await.unwrap();

    assert_eq!(counts, [1, 2, 0, 1, 2], "an upload counts for no template; a name asked twice is answered twice");
    assert!(storage.templates.meme_counts(&[]).await.unwrap().is_empty());
    storage.memes.delete(first_rocket.id).await.unwrap();
    assert_eq!(
        storage.templates.meme_counts(&["rocket".to_owned()]).await.unwrap(),
        [1],
        "a deleted meme counts no more"
    );
}

pub async fn a_template_reads_with_its_newest_memes_and_a_deleted_one_leaves_them(storage: &Storage) {
    let ann = user(storage, "ann").await;
    let bob = user(storage, "bob").await;
    let gradient = shared_by(storage, &ann, "Gradient").await;
    let oldest = made_with(storage, &ann, &gradient.id).await;
    let middle = made_with(storage, &bob, &gradient.id).await;
    let on_chelsea = made_with(storage, &bob, "chelsea").await;
    let remix = meme_by(&bob, &gradient.id, Some(middle.id));
    storage.memes.create(&remix).await.unwrap();

    let page = storage.templates.get_with_recent_memes(&gradient.id, 2).await.unwrap();

    assert_eq!(page.shared.as_ref(), Some(&gradient));
    assert_eq!(
        page.recent.iter().map(card).collect::<Vec<_>>(),
        [card(&remix), card(&middle)],
        "newest first, at most 2"
    );
    let all = storage.templates.get_with_recent_memes(&gradient.id, 10).await.unwrap();
    assert_eq!(all.recent.iter().map(|m| m.id).collect::<Vec<_>>(), [remix.id, middle.id, oldest.id]);
    let builtin = storage.templates.get_with_recent_memes("chelsea", 10).await.unwrap();
    assert!(builtin.shared.is_none(), "a builtin template has no stored record");
    assert_eq!(builtin.recent.iter().map(card).collect::<Vec<_>>(), [card(&on_chelsea)]);

    storage.memes.delete(remix.id).await.unwrap();
    let after = storage.templates.get_with_recent_memes(&gradient.id, 10).await.unwrap();
    assert_eq!(after.recent.iter().map(|m| m.id).collect::<Vec<_>>(), [middle.id, oldest.id]);
    let unknown = storage.templates.get_with_recent_memes("u-nobody-shared-this", 10).await.unwrap();
    assert!(unknown.shared.is_none() && unknown.recent.is_empty());
}
