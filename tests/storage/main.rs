//! The storage contract: one suite, written once, run against every backend (STYLE.md item 7).
//! A backend is correct when it passes all of it; nothing above the traits may depend on more.

mod account_contract;
mod contract;
mod delivery;
mod drafts_contract;
mod notices;
mod site_contract;
mod templates_contract;

use skyhigh::storage::Storage;

use account_contract::*;
use contract::*;
use drafts_contract::*;
use notices::*;
use site_contract::*;
use templates_contract::*;

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
        events_topic: format!("t{unique}-events"),
        delivery_queue: format!("t{unique}-deliveries"),
        cloudfront_distribution: None,
        ses_configuration_set: None,
    };
    let (storage, clients) =
        skyhigh::storage::aws::connect(&settings).await.expect("aws backend connects to the emulator");
    (Fixture { storage, _keep: Box::new(()) }, clients, settings)
}

/// What only the aws backend does: media headers on S3.
mod aws_only {
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

    /// The partition heat of a busy hour in miniature: 200 saves by 10 creators and 2,000
    /// comments over 20 of those memes, with the worker's top-list refreshes. No partition key
    /// (of the table or of an index) may be touched by more than 10% of the writes: with the
    /// counters on each meme's item and a TOP index, every comment rewrote the meme's entries in
    /// every index, and the TOP partition took 100% of the writes.
    #[tokio::test]
    async fn no_partition_key_takes_more_than_a_tenth_of_the_writes() {
        use futures_util::stream::{self, StreamExt};

        skyhigh::storage::aws::metering::record_write_partitions();
        let (fixture, _clients, settings) = crate::aws_backend().await;
        let storage = &fixture.storage;
        let mut creators = Vec::new();
        for i in 0..10 {
            creators.push(crate::site_contract::user(storage, &format!("creator{i}")).await);
        }
        let memes: Vec<_> = stream::iter(0..200)
            .map(|i| crate::site_contract::saved(storage, &creators[i % 10]))
            .buffer_unordered(4)
            .collect()
            .await;
        let busy = &memes[..20];
        let comments = stream::iter(0..2000).map(|i| {
            let (meme, author) = (&busy[i % 20], &creators[(i / 20) % 10]);
            crate::site_contract::comment_on(storage, meme, author, "heat")
        });
        // Four at a time: the emulator takes DynamoDB requests one by one, and more in flight
        // would only queue there past the SDK's timeouts.
        comments.buffer_unordered(4).collect::<Vec<_>>().await;
        for _ in 0..10 {
            storage.memes.refresh_rankings(time::OffsetDateTime::now_utc()).await.unwrap();
        }

        let table = format!("{}main", settings.table_prefix);
        let (writes, partitions) = skyhigh::storage::aws::metering::write_heat(&table);
        let hottest: Vec<String> = partitions
            .iter()
            .take(5)
            .map(|(p, n)| format!("{p}: {n} ({:.1}%)", 100.0 * *n as f64 / writes as f64))
            .collect();
        eprintln!("{writes} writes; hottest partitions: {hottest:#?}");
        assert!(writes >= 2200, "every save and comment was recorded: {writes}");
        let (partition, touches) = &partitions[0];
        assert!(
            *touches as f64 <= 0.10 * writes as f64,
            "{partition} took {touches} of {writes} writes; hottest: {hottest:#?}"
        );
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
                a_draft_reads_back_only_under_its_owner_and_within_the_limit,
                the_sweep_removes_expired_drafts_and_keeps_live_ones,
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
                fifty_concurrent_comments_on_one_meme_all_land_and_are_counted,
                a_meme_reads_with_its_first_comments_and_the_rest_follow,
                a_comment_on_a_missing_meme_is_not_found,
                subscribing_is_idempotent_and_counted,
                a_profile_reads_alone_as_it_does_with_the_memes,
                following_lists_creators_most_recent_first,
                saving_a_meme_queues_its_published_job_once,
                a_job_comes_back_until_completed,
                a_delayed_job_waits_its_delay,
                the_queue_counts_every_job_owed_until_it_is_completed,
                in_app_notifications_are_delivered_once_however_often_asked,
                a_creators_subscribers_page_through_each_once_with_their_links,
                an_email_is_claimed_by_one_worker_until_sent_released_or_stale,
                fan_out_progress_and_digests_are_kept,
                counters_count_expire_and_reset,
                concurrent_increments_are_all_counted,
                a_token_is_used_once_and_only_for_its_purpose_before_it_expires,
                an_address_is_confirmed_and_suppressed_everywhere_it_is_read,
                shared_templates_round_trip_newest_first,
                a_setting_keeps_its_first_value,
                api_tokens_are_found_by_secret_listed_newest_first_and_revoked_only_by_their_owner,
                the_feed_carries_each_memes_two_newest_comments_and_drops_deleted_ones,
                a_comment_a_remix_and_a_subscriber_each_tell_the_creator_once,
                nobody_is_told_of_what_they_did_themself,
                a_comment_on_a_missing_meme_tells_nobody,
                opening_the_inbox_shows_what_was_unread_then_reads_everything,
                notices_and_new_memes_page_through_one_inbox_newest_first_each_once,
                an_accounts_sessions_end_together_but_the_one_kept,
                a_link_token_carries_its_detail_and_a_peek_does_not_use_it,
                a_reset_token_lives_exactly_its_hour,
                a_new_password_hash_is_read_everywhere_the_account_is,
                an_email_change_moves_the_account_and_frees_the_old_address,
                deleting_an_account_takes_everything_it_owned_and_frees_its_names,
                use_counts_of_many_templates_come_back_in_the_order_asked,
                a_template_reads_with_its_newest_memes_and_a_deleted_one_leaves_them,
                $($extra,)*
            ]
        );
    };
}

every_backend!(aws, crate::aws_fixture, []);

every_backend!(local, crate::local_fixture, []);
