//! The engine's JPEG encoder: baseline JFIF, 4:2:0, the standard tables of ITU T.81 Annex K,
//! quality scaled as the IJG library scales it. It only ever encodes the engine's own pixels
//! (decoding untrusted uploads stays with zune-jpeg).
//!
//! It is written for the one job: a 600×600 render went out in about 2.7 ms through the
//! general-purpose encoder we used before, three times what libjpeg-turbo takes, which made a
//! cached template's render slower than Pillow decoding and re-encoding the same picture
//! (BENCHMARKS.md, SPEC §7). What makes this one fast:
//! - the forward DCT is the AAN float one (as libjpeg's `jfdctflt`), run on eight columns at
//!   once so the compiler turns each step into vector instructions, and left transposed: the
//!   zigzag table reads it that way, so no second transpose is needed (the one transpose
//!   between the passes is SSE shuffles);
//! - its scale factors are folded into the quantization multipliers;
//! - the entropy coder walks only the nonzero coefficients (a bit mask of them, then
//!   `trailing_zeros`), emits a code and its value bits in one write, and fills a 64-bit buffer
//!   that it empties 32 bits at a time, stuffing a zero after any 0xFF byte only when the word
//!   has one;
//! - rounding, the nonzero mask and the RGB split are SSE2/SSSE3 where the compiler made
//!   scalar code of the portable version;
//! - every row of MCUs ends in a restart marker, so a cached template's untouched rows are
//!   copied, not encoded (`RowCache`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Zigzag position → natural (row-major) index of the coefficient.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
    28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54,
    47, 55, 62, 63,
];

/// Annex K.1: the luminance and chrominance quantization tables at quality 50, natural order.
const LUMA_QUANT: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
    87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_QUANT: [u16; 64] = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99,
];

/// Annex K.3: the typical Huffman tables, as code-length counts and symbols.
const LUMA_DC_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const CHROMA_DC_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const LUMA_AC_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D];
const LUMA_AC_VALUES: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14,
    0x32, 0x81, 0x91, 0xA1, 0x08, 0x23, 0x42, 0xB1, 0xC1, 0x15, 0x52, 0xD1, 0xF0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09,
    0x0A, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A,
    0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64, 0x65,
    0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
    0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9,
    0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA,
    0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA,
    0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
];
const CHROMA_AC_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
const CHROMA_AC_VALUES: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22, 0x32,
    0x81, 0x08, 0x14, 0x42, 0x91, 0xA1, 0xB1, 0xC1, 0x09, 0x23, 0x33, 0x52, 0xF0, 0x15, 0x62, 0x72, 0xD1, 0x0A, 0x16,
    0x24, 0x34, 0xE1, 0x25, 0xF1, 0x17, 0x18, 0x19, 0x1A, 0x26, 0x27, 0x28, 0x29, 0x2A, 0x35, 0x36, 0x37, 0x38, 0x39,
    0x3A, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x82, 0x83, 0x84, 0x85, 0x86,
    0x87, 0x88, 0x89, 0x8A, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7,
    0xA8, 0xA9, 0xAA, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8,
    0xC9, 0xCA, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9,
    0xEA, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA,
];

/// Encodes packed RGB8 pixels (`width` × `height`, both at least 1) at `quality` (1–100).
#[cfg(test)]
fn encode(rgb: &[u8], width: usize, height: usize, quality: u8) -> Vec<u8> {
    encode_reusing(rgb, width, height, quality, None)
}

/// The entropy-coded MCU rows of one reference picture at one quality, kept as renders meet
/// them unchanged.
///
/// Every JPEG this encoder writes has a restart marker after each MCU row, so a row's bytes
/// depend on its sixteen rows of pixels alone (the DC prediction starts again from zero and
/// the row ends on a byte boundary). A cached template's render changes only the rows the
/// captions touch; every other row is the template's, and its bytes are copied, not encoded
/// again. That is what puts a cached template's render below the cost of decoding and
/// re-encoding the picture (SPEC §7).
pub struct RowCache {
    width: usize,
    height: usize,
    quality: u8,
    rows: Vec<OnceLock<Box<[u8]>>>,
    bytes: AtomicUsize,
}

impl RowCache {
    /// An empty cache for a `width` × `height` reference picture encoded at `quality`.
    pub fn new(width: usize, height: usize, quality: u8) -> Self {
        let rows = (0..height.div_ceil(16)).map(|_| OnceLock::new()).collect();
        Self { width, height, quality, rows, bytes: AtomicUsize::new(0) }
    }

    /// The bytes of the rows kept so far.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    fn keep(&self, row: usize, bytes: &[u8]) {
        if self.rows[row].set(bytes.into()).is_ok() {
            self.bytes.fetch_add(bytes.len(), Ordering::Relaxed);
        }
    }
}

/// Encodes like [`encode`], but an MCU row whose pixels are those of `reference`'s picture
/// (the pixels, and the cache of their encoding) is copied from the cache, and an unchanged
/// row not cached yet is kept there. A reference of another size or quality is not used.
pub fn encode_reusing(
    rgb: &[u8],
    width: usize,
    height: usize,
    quality: u8,
    reference: Option<(&[u8], &RowCache)>,
) -> Vec<u8> {
    debug_assert!(width > 0 && height > 0 && rgb.len() >= width * height * 3);
    let reference = reference.filter(|(pixels, cache)| {
        (cache.width, cache.height, cache.quality) == (width, height, quality) && pixels.len() == rgb.len()
    });
    let picture = Picture { rgb, width, height };
    let tables = Tables {
        luma: Component::new(&LUMA_QUANT, quality, &LUMA_DC_BITS, &LUMA_AC_BITS, &LUMA_AC_VALUES),
        chroma: Component::new(&CHROMA_QUANT, quality, &CHROMA_DC_BITS, &CHROMA_AC_BITS, &CHROMA_AC_VALUES),
    };
    // Rarely more than a tenth of the raw size at the qualities the engine uses.
    let mut out = Vec::with_capacity(width * height / 3 + 1024);
    write_headers(&mut out, width, height, &tables.luma, &tables.chroma);
    let mut bits = BitWriter { out, acc: 0, used: 0 };
    let rows = height.div_ceil(16);
    for row in 0..rows {
        let start = bits.out.len();
        // The pixels this row of MCUs reads (the last repeats its last row of pixels).
        let pixels = row * 16 * width * 3..(row * 16 + 16).min(height) * width * 3;
        let unchanged = reference.filter(|(original, _)| original[pixels.clone()] == rgb[pixels.clone()]);
        match unchanged.and_then(|(_, cache)| cache.rows[row].get()) {
            Some(kept) => bits.out.extend_from_slice(kept),
            None => {
                encode_row(&mut bits, &picture, &tables, row * 16);
                bits.align();
                if let Some((_, cache)) = unchanged {
                    cache.keep(row, &bits.out[start..]);
                }
            }
        }
        if row + 1 < rows {
            bits.out.extend_from_slice(&[0xFF, 0xD0 + (row % 8) as u8]);
        }
    }
    let mut out = bits.finish();
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// Packed RGB8 pixels, `width` × `height`.
struct Picture<'a> {
    rgb: &'a [u8],
    width: usize,
    height: usize,
}

struct Tables {
    luma: Component,
    chroma: Component,
}

/// One row of MCUs (the picture's rows from `my`), left to right: the entropy-coded data
/// between two restart markers.
fn encode_row(bits: &mut BitWriter, picture: &Picture<'_>, tables: &Tables, my: usize) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("bmi2")
        && std::arch::is_x86_feature_detected!("lzcnt")
    {
        // SAFETY: the CPU has AVX2, BMI2 and LZCNT, all that `encode_row_avx2` was compiled to
        // use (every x86-64 CPU with AVX2 has the other two).
        return unsafe { encode_row_avx2(bits, picture, tables, my) };
    }
    encode_row_inline::<Bytewise>(bits, picture, tables, my);
}

#[inline(always)]
fn encode_row_inline<D: Deinterleave>(bits: &mut BitWriter, picture: &Picture<'_>, tables: &Tables, my: usize) {
    let Tables { luma, chroma } = tables;
    let mut mcu = Mcu::default();
    let (mut dc_y, mut dc_cb, mut dc_cr) = (0i32, 0i32, 0i32);
    for mx in (0..picture.width).step_by(16) {
        mcu.load::<D>(picture.rgb, picture.width, picture.height, mx, my);
        for block in &mut mcu.y {
            let coefficients = luma.quantize(block);
            bits.block(&coefficients, &mut dc_y, luma);
        }
        let coefficients = chroma.quantize(&mut mcu.cb);
        bits.block(&coefficients, &mut dc_cb, chroma);
        let coefficients = chroma.quantize(&mut mcu.cr);
        bits.block(&coefficients, &mut dc_cr, chroma);
    }
}

/// `encode_row` compiled for AVX2: eight-lane arithmetic for the colour conversion, the DCT
/// and the quantization (about a third faster than SSE2's four lanes); and BMI2's shifts by
/// any register and LZCNT for the entropy coder.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,bmi2,lzcnt")]
fn encode_row_avx2(bits: &mut BitWriter, picture: &Picture<'_>, tables: &Tables, my: usize) {
    encode_row_inline::<Shuffled>(bits, picture, tables, my);
}

/// What encoding one component takes: its quantization table (as written, zigzag order) and
/// multipliers (for the transposed DCT output), and its Huffman codes.
struct Component {
    table: [u8; 64],
    /// By position in the (transposed) DCT output: what multiplies the coefficient (the
    /// quantizer's reciprocal with the DCT's scale folded in).
    multipliers: [f32; 64],
    /// By zigzag position: where that coefficient is in the DCT output.
    order: [usize; 64],
    dc: Codes,
    ac: Codes,
    dc_bits: [u8; 16],
    ac_bits: [u8; 16],
    ac_values: &'static [u8],
}

impl Component {
    fn new(base: &[u16; 64], quality: u8, dc_bits: &[u8; 16], ac_bits: &[u8; 16], ac_values: &'static [u8]) -> Self {
        // The IJG library's scaling of the Annex K tables.
        let quality = u32::from(quality.clamp(1, 100));
        let scale = if quality < 50 { 5000 / quality } else { 200 - 2 * quality };
        let natural = base.map(|q| ((u32::from(q) * scale + 50) / 100).clamp(1, 255) as u8);
        // The AAN DCT leaves coefficient (u, v) scaled by 8·s(u)·s(v), s(0) = 1,
        // s(k) = √2·cos(kπ/16).
        let s = |k: usize| {
            if k == 0 { 1.0 } else { std::f64::consts::SQRT_2 * (k as f64 * std::f64::consts::PI / 16.0).cos() }
        };
        let (mut table, mut multipliers, mut order) = ([0u8; 64], [0f32; 64], [0usize; 64]);
        for (z, &n) in ZIGZAG.iter().enumerate() {
            let (u, v) = (n / 8, n % 8);
            table[z] = natural[n];
            order[z] = v * 8 + u;
            multipliers[v * 8 + u] = (1.0 / (f64::from(natural[n]) * 8.0 * s(u) * s(v))) as f32;
        }
        Self {
            table,
            multipliers,
            order,
            dc: Codes::new(dc_bits, &DC_VALUES),
            ac: Codes::new(ac_bits, ac_values),
            dc_bits: *dc_bits,
            ac_bits: *ac_bits,
            ac_values,
        }
    }

    /// The block's quantized coefficients (the block is transformed in place).
    #[inline(always)]
    fn quantize(&self, block: &mut Block) -> Quantized {
        fdct(block);
        let (values, nonzero) = scale_and_round(block.as_flattened(), &self.multipliers);
        Quantized { values, nonzero }
    }
}

/// The DCT output times the multipliers, rounded, in storage order; and which are nonzero, as
/// bits in zigzag order (the entropy coder visits only those). Four lanes at a time in SSE2,
/// which every x86-64 has: the compiler makes no mask of compares from portable code.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn scale_and_round(coefficients: &[f32], multipliers: &[f32; 64]) -> ([i32; 64], u64) {
    use std::arch::x86_64::*;
    let (mut values, mut nonzero) = ([0i32; 64], 0u64);
    // SAFETY: SSE2 is part of the x86-64 baseline; every load and store is of four lanes
    // inside arrays of 64.
    unsafe {
        let (low, high) = (_mm_set1_ps(-1023.0), _mm_set1_ps(1023.0));
        let (magic, magic_bits) = (_mm_set1_ps(12_582_912.0), _mm_set1_epi32(0x4B40_0000));
        for group in 0..16 {
            let c = _mm_loadu_ps(coefficients[group * 4..].as_ptr());
            let m = _mm_loadu_ps(multipliers[group * 4..].as_ptr());
            // ±1023 is what 8-bit samples reach; at quality 100 a rounding could make 1024,
            // whose size (11 bits) the AC tables have no code for.
            let scaled = _mm_min_ps(_mm_max_ps(_mm_mul_ps(c, m), low), high);
            // Rounded to nearest (ties to even) by adding 1.5·2²³: the float's low mantissa
            // bits are then the integer.
            let rounded = _mm_sub_epi32(_mm_castps_si128(_mm_add_ps(scaled, magic)), magic_bits);
            _mm_storeu_si128(values[group * 4..].as_mut_ptr().cast(), rounded);
            let zeros = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(rounded, _mm_setzero_si128())));
            nonzero |= ZIGZAG_BITS[group][(!zeros & 15) as usize];
        }
    }
    (values, nonzero)
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn scale_and_round(coefficients: &[f32], multipliers: &[f32; 64]) -> ([i32; 64], u64) {
    let (mut values, mut nonzero) = ([0i32; 64], 0u64);
    for (at, (&c, &m)) in coefficients.iter().zip(multipliers).enumerate() {
        let scaled = (c * m).clamp(-1023.0, 1023.0);
        values[at] = ((scaled + 12_582_912.0).to_bits() as i32) - 0x4B40_0000;
        if values[at] != 0 {
            nonzero |= ZIGZAG_BITS[at / 4][1 << (at % 4)];
        }
    }
    (values, nonzero)
}

/// A block's quantized coefficients in storage order (the transposed DCT output), and the
/// zigzag positions of the nonzero ones as bits.
struct Quantized {
    values: [i32; 64],
    nonzero: u64,
}

/// Storage position → zigzag position (storage is the transposed natural order).
const ZIGZAG_OF_STORED: [u32; 64] = {
    let mut table = [0u32; 64];
    let mut z = 0;
    while z < 64 {
        let (u, v) = (ZIGZAG[z] / 8, ZIGZAG[z] % 8);
        table[v * 8 + u] = z as u32;
        z += 1;
    }
    table
};

/// For each group of four storage positions and each pattern of them being nonzero: those
/// positions' bits in zigzag order.
const ZIGZAG_BITS: [[u64; 16]; 16] = {
    let mut table = [[0u64; 16]; 16];
    let mut group = 0;
    while group < 16 {
        let mut pattern = 0;
        while pattern < 16 {
            let mut bit = 0;
            while bit < 4 {
                if pattern & (1 << bit) != 0 {
                    table[group][pattern] |= 1 << ZIGZAG_OF_STORED[group * 4 + bit];
                }
                bit += 1;
            }
            pattern += 1;
        }
        group += 1;
    }
    table
};

/// Canonical Huffman codes by symbol: (code, length).
struct Codes([(u32, u32); 256]);

impl Codes {
    fn new(bits: &[u8; 16], values: &[u8]) -> Self {
        let mut codes = [(0, 0); 256];
        let (mut code, mut k) = (0u32, 0usize);
        for (i, &count) in bits.iter().enumerate() {
            for _ in 0..count {
                codes[usize::from(values[k])] = (code, i as u32 + 1);
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        Self(codes)
    }
}

/// Eight rows of eight samples.
type Block = [[f32; 8]; 8];

/// One 16×16 MCU: four luma blocks and the two chroma ones, each sample averaged over 2×2.
#[derive(Default)]
struct Mcu {
    y: [Block; 4],
    cb: Block,
    cr: Block,
}

impl Mcu {
    /// Converts the pixels at (`x0`, `y0`), repeating the last column and row past the edges.
    /// Each row of 16 is first split into its three channels, so that the arithmetic runs on
    /// whole arrays (vector instructions) rather than on interleaved bytes.
    #[inline(always)]
    fn load<D: Deinterleave>(&mut self, rgb: &[u8], width: usize, height: usize, x0: usize, y0: usize) {
        let inside = x0 + 16 <= width;
        // Each chroma sample's 2×2 sum of red, green and blue (whole numbers: exact).
        let mut chroma_sums = [[[0u16; 8]; 3]; 8];
        for dy in 0..16 {
            let y = (y0 + dy).min(height - 1);
            let row = &rgb[y * width * 3..(y + 1) * width * 3];
            // Bytes first, then floats.
            let [mut r, mut g, mut b] = [[0u8; 16]; 3];
            if inside {
                [r, g, b] = D::split(row[x0 * 3..x0 * 3 + 48].try_into().expect("16 pixels"));
            } else {
                for dx in 0..16 {
                    let x = (x0 + dx).min(width - 1);
                    (r[dx], g[dx], b[dx]) = (row[x * 3], row[x * 3 + 1], row[x * 3 + 2]);
                }
            }
            let mut luma = [0f32; 16];
            for dx in 0..16 {
                let (r, g, b) = (f32::from(r[dx]), f32::from(g[dx]), f32::from(b[dx]));
                luma[dx] = 0.299 * r + 0.587 * g + 0.114 * b - 128.0;
            }
            let blocks = &mut self.y[(dy / 8) * 2..(dy / 8) * 2 + 2];
            blocks[0][dy % 8].copy_from_slice(&luma[..8]);
            blocks[1][dy % 8].copy_from_slice(&luma[8..]);
            let sums = &mut chroma_sums[dy / 2];
            for (channel, values) in [&r, &g, &b].into_iter().enumerate() {
                for cx in 0..8 {
                    sums[channel][cx] += u16::from(values[2 * cx]) + u16::from(values[2 * cx + 1]);
                }
            }
        }
        for (cy, [r, g, b]) in chroma_sums.iter().enumerate() {
            for cx in 0..8 {
                let (r, g, b) = (f32::from(r[cx]) * 0.25, f32::from(g[cx]) * 0.25, f32::from(b[cx]) * 0.25);
                self.cb[cy][cx] = -0.168_736 * r - 0.331_264 * g + 0.5 * b;
                self.cr[cy][cx] = 0.5 * r - 0.418_688 * g - 0.081_312 * b;
            }
        }
    }
}

/// Splits sixteen RGB pixels into their red, green and blue bytes.
trait Deinterleave {
    fn split(pixels: &[u8; 48]) -> [[u8; 16]; 3];
}

/// Byte by byte. Compiled so, the bytes are stored one at a time and read back as vectors,
/// which stalls the reads (the stores cannot be forwarded to them).
struct Bytewise;

impl Deinterleave for Bytewise {
    #[inline(always)]
    fn split(pixels: &[u8; 48]) -> [[u8; 16]; 3] {
        std::array::from_fn(|channel| std::array::from_fn(|dx| pixels[dx * 3 + channel]))
    }
}

/// With byte shuffles (SSSE3): each channel gathered from the three 16-byte thirds and OR-ed.
/// Only for code compiled with AVX2 (`encode_row_avx2`), which runs only where the CPU has it.
#[cfg(target_arch = "x86_64")]
struct Shuffled;

#[cfg(target_arch = "x86_64")]
impl Deinterleave for Shuffled {
    #[inline(always)]
    fn split(pixels: &[u8; 48]) -> [[u8; 16]; 3] {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_or_si128, _mm_shuffle_epi8, _mm_storeu_si128};
        /// For third `k` and channel `c`: which byte of the third goes to each lane (0x80: none).
        const MASKS: [[[u8; 16]; 3]; 3] = {
            let mut masks = [[[0x80u8; 16]; 3]; 3];
            let mut k = 0;
            while k < 3 {
                let mut c = 0;
                while c < 3 {
                    let mut lane = 0;
                    while lane < 16 {
                        let at = lane * 3 + c;
                        if at >= k * 16 && at < k * 16 + 16 {
                            masks[k][c][lane] = (at - k * 16) as u8;
                        }
                        lane += 1;
                    }
                    c += 1;
                }
                k += 1;
            }
            masks
        };
        let mut out = [[0u8; 16]; 3];
        // SAFETY: the loads and stores are of 16 bytes inside arrays of 48 and 16; SSSE3 is
        // there because only `encode_row_avx2` uses this, after AVX2 was detected.
        unsafe {
            let thirds: [__m128i; 3] = std::array::from_fn(|k| _mm_loadu_si128(pixels[k * 16..].as_ptr().cast()));
            for (c, channel) in out.iter_mut().enumerate() {
                let part = |k: usize| _mm_shuffle_epi8(thirds[k], _mm_loadu_si128(MASKS[k][c].as_ptr().cast()));
                _mm_storeu_si128(channel.as_mut_ptr().cast(), _mm_or_si128(_mm_or_si128(part(0), part(1)), part(2)));
            }
        }
        out
    }
}

/// The AAN forward DCT (as libjpeg's `jfdctflt`), down the columns, then down the columns of
/// the transpose: the result is the coefficient block transposed and scaled (`Component`).
#[inline(always)]
fn fdct(block: &mut Block) {
    columns(block);
    transpose(block);
    columns(block);
}

/// One 1-D DCT down each of the eight columns. The loop is over the columns, so each step reads
/// and writes one row of eight: the compiler makes it eight lanes of vector arithmetic.
#[inline(always)]
// `i` indexes all eight rows at once: no iterator says that as plainly.
#[allow(clippy::needless_range_loop)]
fn columns(d: &mut Block) {
    use std::f32::consts::FRAC_1_SQRT_2;
    for i in 0..8 {
        let (tmp0, tmp7) = (d[0][i] + d[7][i], d[0][i] - d[7][i]);
        let (tmp1, tmp6) = (d[1][i] + d[6][i], d[1][i] - d[6][i]);
        let (tmp2, tmp5) = (d[2][i] + d[5][i], d[2][i] - d[5][i]);
        let (tmp3, tmp4) = (d[3][i] + d[4][i], d[3][i] - d[4][i]);
        // The even part.
        let (tmp10, tmp13) = (tmp0 + tmp3, tmp0 - tmp3);
        let (tmp11, tmp12) = (tmp1 + tmp2, tmp1 - tmp2);
        d[0][i] = tmp10 + tmp11;
        d[4][i] = tmp10 - tmp11;
        let z1 = (tmp12 + tmp13) * FRAC_1_SQRT_2;
        d[2][i] = tmp13 + z1;
        d[6][i] = tmp13 - z1;
        // The odd part.
        let (tmp10, tmp11, tmp12) = (tmp4 + tmp5, tmp5 + tmp6, tmp6 + tmp7);
        let z5 = (tmp10 - tmp12) * 0.382_683_43;
        let z2 = 0.541_196_1 * tmp10 + z5;
        let z4 = 1.306_563 * tmp12 + z5;
        let z3 = tmp11 * FRAC_1_SQRT_2;
        let (z11, z13) = (tmp7 + z3, tmp7 - z3);
        d[5][i] = z13 + z2;
        d[3][i] = z13 - z2;
        d[1][i] = z11 + z4;
        d[7][i] = z11 - z4;
    }
}

/// Transposes the block: four 4×4 transposes of SSE registers (every x86-64 has SSE), which
/// the compiler would not make of an element-by-element copy.
#[inline(always)]
#[cfg(target_arch = "x86_64")]
fn transpose(d: &mut Block) {
    use std::arch::x86_64::{__m128, _mm_movehl_ps, _mm_movelh_ps, _mm_unpackhi_ps, _mm_unpacklo_ps};
    // SAFETY: `[f32; 4]` and `__m128` have the same size, and every bit pattern is valid for
    // both.
    let quad = |row: usize, col: usize| -> [__m128; 4] {
        std::array::from_fn(|k| unsafe {
            std::mem::transmute::<[f32; 4], __m128>(d[row + k][col..col + 4].try_into().unwrap())
        })
    };
    let flip = |[a, b, c, e]: [__m128; 4]| -> [[f32; 4]; 4] {
        // SAFETY: SSE is part of the x86-64 baseline; the transmute is as above.
        unsafe {
            let (ab_lo, ab_hi) = (_mm_unpacklo_ps(a, b), _mm_unpackhi_ps(a, b));
            let (ce_lo, ce_hi) = (_mm_unpacklo_ps(c, e), _mm_unpackhi_ps(c, e));
            [
                _mm_movelh_ps(ab_lo, ce_lo),
                _mm_movehl_ps(ce_lo, ab_lo),
                _mm_movelh_ps(ab_hi, ce_hi),
                _mm_movehl_ps(ce_hi, ab_hi),
            ]
            .map(|v| std::mem::transmute::<__m128, [f32; 4]>(v))
        }
    };
    let (top_left, top_right, bottom_left, bottom_right) = (quad(0, 0), quad(0, 4), quad(4, 0), quad(4, 4));
    for (quads, row, col) in [(top_left, 0, 0), (bottom_left, 0, 4), (top_right, 4, 0), (bottom_right, 4, 4)] {
        for (k, values) in flip(quads).into_iter().enumerate() {
            d[row + k][col..col + 4].copy_from_slice(&values);
        }
    }
}

#[inline(always)]
#[cfg(not(target_arch = "x86_64"))]
fn transpose(d: &mut Block) {
    *d = std::array::from_fn(|i| std::array::from_fn(|j| d[j][i]));
}

/// The entropy-coded segment being written.
struct BitWriter {
    out: Vec<u8>,
    /// Bits not yet written, in the low `used` bits.
    acc: u64,
    used: u32,
}

impl BitWriter {
    /// Appends the `len` low bits of `bits` (at most 32).
    #[cfg(test)]
    fn put(&mut self, bits: u32, len: u32) {
        self.sink(|sink| sink.put(bits, len));
    }

    /// Works on the bits held through a `Sink`: its accumulator is a local the compiler keeps
    /// in registers, where the writer's own fields would be written back to memory after
    /// every code (the output's bytes might alias them, for all it knows).
    #[inline(always)]
    fn sink(&mut self, work: impl FnOnce(&mut Sink<'_>)) {
        let mut sink = Sink { out: &mut self.out, acc: self.acc, used: self.used };
        work(&mut sink);
        (self.acc, self.used) = (sink.acc, sink.used);
    }

    /// One block: the DC difference, then the AC run-lengths, as T.81 F.1.2 codes them.
    #[inline(always)]
    fn block(&mut self, block: &Quantized, previous_dc: &mut i32, component: &Component) {
        self.sink(|sink| sink.block(block, previous_dc, component));
    }

    /// Pads the last byte with one bits and writes every bit held: the segment ends on a byte
    /// boundary, as it must before a restart marker.
    fn align(&mut self) {
        let pad = (8 - self.used % 8) % 8;
        self.acc = (self.acc << pad) | ((1 << pad) - 1);
        self.used += pad;
        while self.used >= 8 {
            self.used -= 8;
            let byte = (self.acc >> self.used) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
        }
    }

    /// Pads the last byte with one bits and hands the bytes back.
    fn finish(mut self) -> Vec<u8> {
        self.align();
        self.out
    }
}

/// The bits held, and the bytes they go to (`BitWriter::sink`).
struct Sink<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    used: u32,
}

impl Sink<'_> {
    /// Appends the `len` low bits of `bits` (at most 32).
    #[inline(always)]
    fn put(&mut self, bits: u32, len: u32) {
        self.acc = (self.acc << len) | u64::from(bits);
        self.used += len;
        if self.used >= 32 {
            self.used -= 32;
            self.word((self.acc >> self.used) as u32);
        }
    }

    /// Writes 32 bits, a zero byte after each 0xFF (which would read as a marker otherwise).
    #[inline(always)]
    fn word(&mut self, word: u32) {
        let inverted = !word;
        let has_ff = inverted.wrapping_sub(0x0101_0101) & !inverted & 0x8080_8080 != 0;
        if !has_ff {
            self.out.extend_from_slice(&word.to_be_bytes());
        } else {
            for byte in word.to_be_bytes() {
                self.out.push(byte);
                if byte == 0xFF {
                    self.out.push(0);
                }
            }
        }
    }

    /// One block: the DC difference, then the AC run-lengths, as T.81 F.1.2 codes them.
    #[inline(always)]
    fn block(&mut self, block: &Quantized, previous_dc: &mut i32, component: &Component) {
        let dc = block.values[0];
        let diff = dc - *previous_dc;
        *previous_dc = dc;
        let (size, value) = magnitude(diff);
        let (code, len) = component.dc.0[size as usize];
        self.put((code << size) | value, len + size);

        let mut nonzero = block.nonzero & !1;
        let (zrl_code, zrl_len) = component.ac.0[0xF0];
        let mut last = 0u32;
        while nonzero != 0 {
            let at = nonzero.trailing_zeros();
            nonzero &= nonzero - 1;
            let mut run = at - last - 1;
            while run >= 16 {
                self.put(zrl_code, zrl_len);
                run -= 16;
            }
            let (size, value) = magnitude(block.values[component.order[at as usize]]);
            let (code, len) = component.ac.0[((run << 4) | size) as usize];
            self.put((code << size) | value, len + size);
            last = at;
        }
        if last != 63 {
            let (eob_code, eob_len) = component.ac.0[0x00];
            self.put(eob_code, eob_len);
        }
    }
}

/// A coefficient as T.81 codes it: its size category and its `size` low bits (a negative value
/// as its ones' complement).
#[inline(always)]
fn magnitude(value: i32) -> (u32, u32) {
    let size = 32 - value.unsigned_abs().leading_zeros();
    let bits = if value < 0 { value - 1 } else { value } as u32 & ((1u32 << size) - 1);
    (size, bits)
}

fn write_headers(out: &mut Vec<u8>, width: usize, height: usize, luma: &Component, chroma: &Component) {
    let segment = |out: &mut Vec<u8>, marker: u8, body: &[u8]| {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(body);
    };
    out.extend_from_slice(&[0xFF, 0xD8]);
    // JFIF 1.01, no density, no thumbnail.
    segment(out, 0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00");
    let mut tables = Vec::with_capacity(130);
    for (id, component) in [(0u8, luma), (1, chroma)] {
        tables.push(id);
        tables.extend_from_slice(&component.table);
    }
    segment(out, 0xDB, &tables);
    let (w, h) = ((width as u16).to_be_bytes(), (height as u16).to_be_bytes());
    // 8-bit samples; Y sampled 2×2, Cb and Cr 1×1; quantization tables 0, 1, 1.
    segment(out, 0xC0, &[8, h[0], h[1], w[0], w[1], 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    let mut huffman = Vec::with_capacity(420);
    for (class_id, bits, values) in [
        (0x00, &luma.dc_bits, &DC_VALUES[..]),
        (0x10, &luma.ac_bits, luma.ac_values),
        (0x01, &chroma.dc_bits, &DC_VALUES[..]),
        (0x11, &chroma.ac_bits, chroma.ac_values),
    ] {
        huffman.push(class_id);
        huffman.extend_from_slice(bits);
        huffman.extend_from_slice(values);
    }
    segment(out, 0xC4, &huffman);
    // A restart interval of one row of MCUs (`RowCache`).
    segment(out, 0xDD, &(width.div_ceil(16) as u16).to_be_bytes());
    // Components 1, 2, 3 with tables 0/0, 1/1, 1/1; spectral selection 0–63; no approximation.
    segment(out, 0xDA, &[3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A picture with edges, flat areas, gradients and noise, at a size that is no multiple
    /// of 16 (the MCUs at the right and bottom repeat the last column and row).
    fn picture(width: usize, height: usize) -> Vec<u8> {
        let mut seed = 12345u32;
        (0..width * height)
            .flat_map(|i| {
                let (x, y) = (i % width, i / width);
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let noise = (seed >> 24) as u8 / 8;
                let r: u8 = if (x / 20 + y / 20) % 2 == 0 { 230 } else { 20 };
                let g = ((x * 255) / width) as u8;
                let b = ((y * 255) / height) as u8;
                [r.saturating_add(noise), g, b.saturating_sub(noise)]
            })
            .collect()
    }

    fn psnr(a: &[u8], b: &[u8]) -> f64 {
        let mse = a.iter().zip(b).map(|(x, y)| (f64::from(*x) - f64::from(*y)).powi(2)).sum::<f64>() / a.len() as f64;
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }

    fn decode(bytes: &[u8]) -> image::RgbImage {
        image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg).unwrap().to_rgb8()
    }

    /// What it writes decodes to the picture, as closely as a general-purpose encoder's output
    /// at the same quality does, and no larger, at sizes that are and are not multiples of 16.
    /// (Below quality 90, where that encoder also subsamples chroma 4:2:0; the engine encodes at
    /// 85 and 80. A picture smaller than one MCU is all edge, so it is only decoded.)
    #[test]
    fn it_is_as_good_as_a_general_encoder_at_every_size_and_quality() {
        for (width, height) in [(1, 1), (7, 3)] {
            let decoded = decode(&encode(&picture(width, height), width, height, 85));
            assert_eq!(decoded.dimensions(), (width as u32, height as u32));
        }
        for (width, height) in [(16, 16), (17, 33), (129, 77), (600, 600)] {
            let rgb = picture(width, height);
            for quality in [30, 50, 80, 85] {
                let ours = encode(&rgb, width, height, quality);
                let mut theirs = Vec::new();
                jpeg_encoder::Encoder::new(&mut theirs, quality)
                    .encode(&rgb, width as u16, height as u16, jpeg_encoder::ColorType::Rgb)
                    .unwrap();
                let decoded = decode(&ours);
                assert_eq!(decoded.dimensions(), (width as u32, height as u32));
                let (ours_db, theirs_db) = (psnr(&rgb, decoded.as_raw()), psnr(&rgb, decode(&theirs).as_raw()));
                let at = format!("{width}×{height} q{quality}: {ours_db:.2} dB, {} bytes", ours.len());
                assert!(ours_db >= theirs_db - 0.3, "{at}; theirs {theirs_db:.2} dB");
                assert!(ours.len() <= theirs.len() * 105 / 100 + 64, "{at}; theirs {} bytes", theirs.len());
                assert!(ours_db > 20.0, "{at}");
            }
        }
    }

    /// The extremes: a one-pixel checkerboard (the largest AC coefficients there are) and flat
    /// black and white (the largest DC steps), at the lowest and highest qualities.
    #[test]
    fn extreme_pictures_at_extreme_qualities_decode() {
        let (width, height) = (64, 48);
        let checkerboard: Vec<u8> =
            (0..width * height).flat_map(|i| [if (i % width + i / width) % 2 == 0 { 0 } else { 255 }; 3]).collect();
        let halves: Vec<u8> = (0..width * height).flat_map(|i| [if i % width < 32 { 0 } else { 255 }; 3]).collect();
        for rgb in [&checkerboard, &halves] {
            for quality in [1, 100] {
                let decoded = decode(&encode(rgb, width, height, quality));
                assert_eq!(decoded.dimensions(), (width as u32, height as u32));
                if quality == 100 {
                    assert!(psnr(rgb, decoded.as_raw()) > 30.0);
                }
            }
        }
    }

    /// The rows copied from a reference make exactly the bytes that encoding them would, so a
    /// render that reuses a template's rows is the render that does not; only rows whose
    /// pixels are the reference's are copied or kept.
    #[test]
    fn rows_kept_from_a_reference_are_the_bytes_encoding_would_make() {
        let (width, height) = (129, 77); // five rows of MCUs, the last one partial
        let reference = picture(width, height);
        let cache = RowCache::new(width, height, 85);
        // Pixel rows 20 and 76 (in the second and the last MCU rows) changed, as captions do.
        let mut drawn = reference.clone();
        for y in [20, 76] {
            drawn[y * width * 3..(y + 1) * width * 3].fill(255);
        }
        let plain = encode(&drawn, width, height, 85);
        let cold = encode_reusing(&drawn, width, height, 85, Some((&reference, &cache)));
        assert_eq!(cold, plain);
        let kept: Vec<bool> = cache.rows.iter().map(|row| row.get().is_some()).collect();
        assert_eq!(kept, [true, false, true, true, false]);
        // Now copied, not encoded: poison the kept rows' bytes to see that they are used.
        let warm = encode_reusing(&drawn, width, height, 85, Some((&reference, &cache)));
        assert_eq!(warm, plain);
        let mut poisoned = RowCache::new(width, height, 85);
        for (row, kept) in poisoned.rows.iter_mut().zip(&cache.rows) {
            if let Some(bytes) = kept.get() {
                *row = OnceLock::from(bytes.iter().map(|b| b ^ 1).collect::<Box<[u8]>>());
            }
        }
        assert_ne!(encode_reusing(&drawn, width, height, 85, Some((&reference, &poisoned))), plain);
        // Another quality or size is not this cache's: encoded afresh, nothing kept.
        let other = RowCache::new(width, height, 80);
        assert_eq!(encode_reusing(&drawn, width, height, 85, Some((&reference, &other))), plain);
        assert_eq!(other.bytes(), 0);
        assert!(cache.bytes() > 0);
        // What the decoders read: one restart interval per MCU row.
        assert_eq!(decode(&plain).dimensions(), (width as u32, height as u32));
        let markers = plain.windows(2).filter(|w| w[0] == 0xFF && (0xD0..=0xD7).contains(&w[1])).count();
        assert_eq!(markers, 4);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn pixels_split_by_shuffles_are_those_split_bytewise() {
        assert!(std::arch::is_x86_feature_detected!("avx2"), "the machine the encoder is tuned for");
        let pixels: [u8; 48] = std::array::from_fn(|i| (i * 7 + 3) as u8);
        assert_eq!(Shuffled::split(&pixels), Bytewise::split(&pixels));
        assert_eq!(Bytewise::split(&pixels)[1][5], pixels[16]);
    }

    #[test]
    fn a_block_is_transposed() {
        let mut block: Block = std::array::from_fn(|i| std::array::from_fn(|j| (i * 8 + j) as f32));
        transpose(&mut block);
        for (i, row) in block.iter().enumerate() {
            for (j, &value) in row.iter().enumerate() {
                assert_eq!(value, (j * 8 + i) as f32);
            }
        }
    }

    #[test]
    fn a_marker_byte_in_the_data_is_stuffed() {
        let mut bits = BitWriter { out: Vec::new(), acc: 0, used: 0 };
        bits.put(0xFF, 8);
        bits.put(0x12FF, 16);
        bits.put(0xFF, 8);
        bits.put(0x7, 3);
        assert_eq!(bits.finish(), [0xFF, 0x00, 0x12, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00]);
    }

    #[test]
    fn magnitudes_follow_the_standard() {
        assert_eq!(magnitude(0), (0, 0));
        assert_eq!(magnitude(1), (1, 1));
        assert_eq!(magnitude(-1), (1, 0));
        assert_eq!(magnitude(5), (3, 5));
        assert_eq!(magnitude(-5), (3, 2));
        assert_eq!(magnitude(1023), (10, 1023));
        assert_eq!(magnitude(-1024), (11, 1023));
    }
}
