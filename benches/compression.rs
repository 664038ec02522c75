//! What compressing a page costs, per encoding and effort (`web/compression.rs`), on a real
//! home page of 24 memes (`tests/fixtures/home-page.html`, as an anonymous visitor sees it).
//! `cargo bench --bench compression`.

use criterion::{Criterion, criterion_group, criterion_main};
use skyhigh::web::compression::{Effort, Encoding, compress};
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
    let head = &page[..page.len() / 10];
    for (quality, lgwin) in [(0, 16), (1, 16), (2, 16), (4, 16), (2, 10), (4, 10), (1, 10)] {
        let params = brotli::enc::BrotliEncoderParams { quality, lgwin, size_hint: head.len(), ..Default::default() };
        let page = head;
        let mut out = Vec::new();
        brotli::BrotliCompress(&mut &page[..], &mut out, &params).unwrap();
        group.bench_function(format!("probe_br_q{quality}_w{lgwin}_{}_of_{}", out.len(), page.len()), |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(4096);
                brotli::BrotliCompress(&mut &black_box(page)[..], &mut out, &params).unwrap();
                out
            })
        });
    }
    group.finish();
}

criterion_group!(benches, page_compression);
criterion_main!(benches);
