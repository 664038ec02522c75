//! The storage contract: one suite, written once, run against every backend (STYLE.md item 7).
//! A backend is correct when it passes all of it; nothing above the traits may depend on more.

mod contract;
mod site_contract;

use skyhigh::storage::Storage;

use contract::*;
use site_contract::*;

/// A backend under test, with whatever keeps it alive (a temp folder, an emulator).
pub struct Fixture {
    pub storage: Storage,
    _keep: Box<dyn std::any::Any + Send>,
}

/// Instantiates every contract test for one backend.
macro_rules! storage_contract {
    ($backend:ident, $fixture:path, [$($test:ident),* $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $test() {
                    let fixture = $fixture().await;
                    crate::$test(&fixture.storage).await;
                }
            )*
        }
    };
}

async fn local_fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = skyhigh::storage::local::open(dir.path()).expect("local backend opens");
    Fixture { storage, _keep: Box::new(dir) }
}

/// The aws backend against the moto server that `scripts/test` starts on loopback (it exports
/// `AWS_ENDPOINT_URL`, a region and dummy credentials). Each test gets its own tables, bucket
/// and topic names, so tests never share state.
async fn aws_fixture() -> Fixture {
    aws_backend().await.0
}

/// The aws fixture with the SDK clients and its settings, for tests of what only AWS has.
async fn aws_backend() -> (Fixture, skyhigh::storage::aws::Clients, skyhigh::storage::aws::AwsSettings) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "the aws contract tests need the moto server on loopback: run them through scripts/test \
         (AWS_ENDPOINT_URL is {endpoint:?})"
    );
    let unique = skyhigh::domain::UserId::new().to_string();
    let settings = skyhigh::storage::aws::AwsSettings {
        table_prefix: format!("t{unique}-"),
        bucket: format!("skyhigh-test-{unique}"),
        create_resources: true,
        topic_prefix: format!("t{unique}-"),
    };
    let (storage, clients) =
        skyhigh::storage::aws::connect(&settings).await.expect("aws backend connects to the emulator");
    (Fixture { storage, _keep: Box::new(()) }, clients, settings)
}

/// What only the aws backend does: email subscriptions on SNS, media headers on S3.
mod aws_only {
    use crate::site_contract::user;

    #[tokio::test]
    async fn media_is_uploaded_with_its_type_and_a_year_long_immutable_cache_header() {
        let (fixture, clients, settings) = crate::aws_backend().await;
        let key = skyhigh::storage::BlobKey::parse("memes/01abc/display.jpg").unwrap();
        fixture.storage.blobs.put(&key, bytes::Bytes::from_static(b"jpeg bytes"), "image/jpeg").await.unwrap();

        let head = clients.s3.head_object().bucket(&settings.bucket).key(key.as_str()).send().await.unwrap();

        assert_eq!(head.content_type(), Some("image/jpeg"));
        assert_eq!(head.cache_control(), Some("public, max-age=31536000, immutable"));
        assert_eq!(head.content_length(), Some(10));
    }

    /// The (endpoint, protocol) of each subscription on the creator's topic.
    async fn topic_subscriptions(sns: &aws_sdk_sns::Client, topic_name: &str) -> Option<Vec<(String, String)>> {
        let topics = sns.list_topics().send().await.expect("list topics");
        let arn =
            topics.topics().iter().filter_map(|t| t.topic_arn()).find(|a| a.ends_with(&format!(":{topic_name}")))?;
        let listed = sns.list_subscriptions_by_topic().topic_arn(arn).send().await.expect("list subscriptions");
        Some(
            listed
                .subscriptions()
                .iter()
                .map(|s| (s.endpoint().unwrap_or_default().to_owned(), s.protocol().unwrap_or_default().to_owned()))
                .collect(),
        )
    }

    #[tokio::test]
    async fn subscribing_creates_the_creators_topic_with_the_email_and_unsubscribing_removes_it() {
        let (fixture, clients, settings) = crate::aws_backend().await;
        let prefix = settings.topic_prefix;
        let storage = &fixture.storage;
        let ann = user(storage, "ann").await;
        let bob = user(storage, "bob").await;
        let topic = format!("{prefix}ann");
        assert_eq!(topic_subscriptions(&clients.sns, &topic).await, None, "no topic before the first subscriber");

        storage.subscriptions.subscribe(&ann, &bob).await.unwrap();
        storage.subscriptions.subscribe(&ann, &bob).await.unwrap();

        assert_eq!(
            topic_subscriptions(&clients.sns, &topic).await,
            Some(vec![("bob@example.com".to_owned(), "email".to_owned())]),
            "one email subscription, however often one subscribes"
        );
        storage.subscriptions.unsubscribe(ann.id, bob.id).await.unwrap();
        assert_eq!(topic_subscriptions(&clients.sns, &topic).await, Some(vec![]));
    }
}

/// The contract every backend passes, instantiated for one backend with its own extra tests.
macro_rules! every_backend {
    ($backend:ident, $fixture:path, [$($extra:ident),* $(,)?]) => {
        storage_contract!(
            $backend,
            $fixture,
            [
                a_created_user_is_found_by_id_username_and_email,
                a_taken_username_is_a_conflict_and_stores_nothing,
                a_taken_email_is_a_conflict_and_stores_nothing,
                concurrent_sign_ups_for_one_username_have_exactly_one_winner,
                unknown_users_are_none,
                a_session_round_trips_and_can_be_replaced,
                inserting_an_existing_session_id_is_a_conflict,
                expired_sessions_are_not_loaded_and_are_swept,
                a_deleted_session_is_gone,
                a_blob_round_trips_with_its_content_type,
                a_missing_blob_is_none_and_deleting_it_is_fine,
                a_deleted_blob_is_gone,
                a_key_naming_a_folder_of_objects_is_none_not_an_error,
                the_health_check_passes,
                a_saved_meme_reads_back_whole,
                newest_first_pagination_neither_repeats_nor_skips_while_memes_arrive,
                top_orders_by_comments_then_newest,
                a_forged_cursor_is_invalid_not_a_crash,
                a_creators_memes_and_a_memes_remixes_are_listed_newest_first,
                template_stats_count_memes_remixes_and_days,
                deleting_a_meme_takes_its_comments_and_notifications_and_counts,
                comments_count_list_oldest_first_and_delete,
                a_meme_reads_with_its_first_comments_and_the_rest_follow,
                a_comment_on_a_missing_meme_is_not_found,
                subscribing_is_idempotent_and_counted,
                following_lists_creators_most_recent_first,
                saving_a_meme_notifies_each_subscriber_once_in_app_and_by_outbox,
                outbox_deliveries_complete_and_retry,
                shared_templates_round_trip_newest_first,
                a_setting_keeps_its_first_value,
                $($extra,)*
            ]
        );
    };
}

every_backend!(aws, crate::aws_fixture, []);

// The local backend also sends each email itself, with a per-subscriber unsubscribe link.
every_backend!(local, crate::local_fixture, [email_deliveries_complete_retry_and_drop_after_unsubscribe]);
