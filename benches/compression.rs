//! What compressing a page costs, per encoding and effort (`web/compression.rs`), on a real
//! home page of 24 memes (`tests/fixtures/home-page.html`, as an anonymous visitor sees it), and
//! what a signed-in page costs instead: its kept list spliced between a header and a footer
//! made for the request. `cargo bench --bench compression`.

use criterion::{Criterion, criterion_group, criterion_main};
use skyhigh::web::compression::{Effort, Encoding, compress, compress_spliceable, splice};
use std::hint::black_box;

fn page_compression(c: &mut Criterion) {
    let page = include_bytes!("../tests/fixtures/home-page.html");
    let mut group = c.benchmark_group("compress_home_page");
    for (name, encoding) in [("br", Encoding::Brotli), ("zstd", Encoding::Zstd), ("gzip", Encoding::Gzip)] {
        for (effort_name, effort) in
            [("per_response", Effort::PerResponse), ("cached", Effort::Cached), ("once", Effort::Once)]
        {
            let size = compress(page, encoding, effort).len();
            group.bench_function(format!("{name}_{effort_name}_{size}_of_{}_bytes", page.len()), |b| {
                b.iter(|| compress(black_box(page), encoding, effort))
            });
        }
    }
    group.finish();

    // The split of a signed-in home page: everything before the list, the list, the footer.
    let text = std::str::from_utf8(page).unwrap();
    let start = text.find("<section aria-labelledby=\"feed-title\">").unwrap();
    let end = text.rfind("</main>").unwrap();
    let (before, list, after) = (&page[..start], &page[start..end], &page[end..]);
    let mut group = c.benchmark_group("splice_home_page");
    for (name, encoding) in [("br", Encoding::Brotli), ("zstd", Encoding::Zstd)] {
        let kept = compress_spliceable(list, encoding).unwrap();
        let size = splice(encoding, before, &kept, after).unwrap().len();
        group.bench_function(format!("{name}_{size}_of_{}_bytes", page.len()), |b| {
            b.iter(|| splice(encoding, black_box(before), &kept, black_box(after)))
        });
    }
    group.finish();
}

criterion_group!(benches, page_compression);
criterion_main!(benches);
