//! The IDX file format (LeCun's MNIST files), parsed and validated.
//!
//! An IDX file is a 4-byte magic number — two zero bytes, a type code (0x08 = unsigned byte) and
//! the number of dimensions — then one big-endian u32 per dimension, then the values. Files may
//! arrive gzipped (as MNIST is distributed) or already inflated (a web server may have decoded
//! them); `parse_*` accept both. Every way a file can be wrong is a typed `IdxError` whose
//! message carries the numbers, so the page and the command line can say exactly what is wrong.

use std::io::Read;

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// No MNIST file inflates to more than this; anything larger is refused before it fills memory.
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdxError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is not valid gzip: {0}")]
    BadGzip(String),
    #[error("the file inflates to more than {limit} bytes, far larger than any MNIST file")]
    TooLargeInflated { limit: u64 },
    #[error("the file is only {len} bytes long, too short for an IDX header of {needed} bytes")]
    HeaderTruncated { len: usize, needed: usize },
    #[error("wrong magic number 0x{found:08x}: expected 0x{expected:08x} ({what})")]
    WrongMagic { found: u32, expected: u32, what: &'static str },
    #[error("a dimension is zero: {dims:?}")]
    ZeroDimension { dims: Vec<u32> },
    #[error("the header declares {declared} bytes of data ({dims:?}) but the file holds {actual}: it is truncated")]
    Truncated { dims: Vec<u32>, declared: u64, actual: u64 },
    #[error("the header declares {declared} bytes of data ({dims:?}) but the file holds {actual}: it has extra bytes")]
    Oversized { dims: Vec<u32>, declared: u64, actual: u64 },
    #[error("label {value} at index {index} is not a digit 0–9")]
    BadLabel { index: usize, value: u8 },
}

/// Images from an IDX file: `count` images of `rows × cols` bytes, row-major, one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

/// Labels from an IDX file, each checked to be a digit 0–9.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxLabels {
    pub labels: Vec<u8>,
}

/// Inflate `bytes` if they are gzip (magic 1f 8b), else return them as they are.
pub fn maybe_gunzip(bytes: &[u8]) -> Result<Vec<u8>, IdxError> {
    if bytes.is_empty() {
        return Err(IdxError::Empty);
    }
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::new();
    let decoder = flate2::read::GzDecoder::new(bytes);
    decoder.take(MAX_INFLATED_BYTES + 1).read_to_end(&mut out).map_err(|e| IdxError::BadGzip(e.to_string()))?;
    if out.len() as u64 > MAX_INFLATED_BYTES {
        return Err(IdxError::TooLargeInflated { limit: MAX_INFLATED_BYTES });
    }
    if out.is_empty() {
        return Err(IdxError::Empty);
    }
    Ok(out)
}

/// Check the header and the data length; return the dimensions and the data.
fn parse_header<'a>(raw: &'a [u8], expected_magic: u32, what: &'static str) -> Result<(Vec<u32>, &'a [u8]), IdxError> {
    if raw.len() < 4 {
        return Err(IdxError::HeaderTruncated { len: raw.len(), needed: 4 });
    }
    let magic = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
    if magic != expected_magic {
        return Err(IdxError::WrongMagic { found: magic, expected: expected_magic, what });
    }
    let ndims = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    if raw.len() < header_len {
        return Err(IdxError::HeaderTruncated { len: raw.len(), needed: header_len });
    }
    let dims: Vec<u32> = (0..ndims)
        .map(|i| {
            let o = 4 + 4 * i;
            u32::from_be_bytes([raw[o], raw[o + 1], raw[o + 2], raw[o + 3]])
        })
        .collect();
    if dims.contains(&0) {
        return Err(IdxError::ZeroDimension { dims });
    }
    // Three u32 dimensions can overflow u64: such a header declares more than any file holds.
    let declared: u64 = dims.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64)).unwrap_or(u64::MAX);
    let data = &raw[header_len..];
    let actual = data.len() as u64;
    if actual < declared {
        return Err(IdxError::Truncated { dims, declared, actual });
    }
    if actual > declared {
        return Err(IdxError::Oversized { dims, declared, actual });
    }
    Ok((dims, data))
}

/// Parse an images file (gzipped or not).
pub fn parse_images(bytes: &[u8]) -> Result<IdxImages, IdxError> {
    let raw = maybe_gunzip(bytes)?;
    let (dims, data) = parse_header(&raw, IMAGES_MAGIC, "an images file: unsigned bytes, 3 dimensions")?;
    Ok(IdxImages { count: dims[0] as usize, rows: dims[1] as usize, cols: dims[2] as usize, pixels: data.to_vec() })
}

/// Parse a labels file (gzipped or not); every label must be 0–9.
pub fn parse_labels(bytes: &[u8]) -> Result<IdxLabels, IdxError> {
    let raw = maybe_gunzip(bytes)?;
    let (_dims, data) = parse_header(&raw, LABELS_MAGIC, "a labels file: unsigned bytes, 1 dimension")?;
    if let Some((index, &value)) = data.iter().enumerate().find(|(_, &v)| v > 9) {
        return Err(IdxError::BadLabel { index, value });
    }
    Ok(IdxLabels { labels: data.to_vec() })
}

/// Encode images as an (uncompressed) IDX file; used by tests and tools that write IDX.
pub fn encode_images(count: usize, rows: usize, cols: usize, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + pixels.len());
    out.extend_from_slice(&IMAGES_MAGIC.to_be_bytes());
    for d in [count, rows, cols] {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// Encode labels as an (uncompressed) IDX file.
pub fn encode_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn parses_plain_and_gzipped_images() {
        let pixels: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
        let file = encode_images(2, 3, 4, &pixels);
        for bytes in [file.clone(), gzip(&file)] {
            let img = parse_images(&bytes).unwrap();
            assert_eq!((img.count, img.rows, img.cols), (2, 3, 4));
            assert_eq!(img.pixels, pixels);
        }
    }

    #[test]
    fn truncated_and_oversized_are_named() {
        let file = encode_images(2, 3, 4, &[0; 24]);
        let cut = &file[..file.len() - 5];
        assert_eq!(parse_images(cut), Err(IdxError::Truncated { dims: vec![2, 3, 4], declared: 24, actual: 19 }));
        let mut long = file.clone();
        long.extend_from_slice(&[1, 2, 3]);
        assert_eq!(parse_images(&long), Err(IdxError::Oversized { dims: vec![2, 3, 4], declared: 24, actual: 27 }));
        assert!(matches!(parse_images(&file[..10]), Err(IdxError::HeaderTruncated { len: 10, needed: 16 })));
    }

    #[test]
    fn wrong_magic_and_swapped_files_are_refused() {
        let labels = encode_labels(&[1, 2, 3]);
        let err = parse_images(&labels).unwrap_err();
        assert!(matches!(err, IdxError::WrongMagic { found: 0x801, expected: 0x803, .. }));
        assert!(err.to_string().contains("0x00000801"), "{err}");
        assert!(matches!(parse_labels(b"hello world!"), Err(IdxError::WrongMagic { .. })));
    }

    #[test]
    fn labels_must_be_digits() {
        assert_eq!(parse_labels(&encode_labels(&[0, 9, 3])).unwrap().labels, vec![0, 9, 3]);
        assert_eq!(parse_labels(&encode_labels(&[0, 10, 3])), Err(IdxError::BadLabel { index: 1, value: 10 }));
    }

    #[test]
    fn corrupt_gzip_and_empty_files_are_errors() {
        let mut gz = gzip(&encode_labels(&[1, 2, 3]));
        let n = gz.len();
        gz.truncate(n / 2);
        assert!(matches!(parse_labels(&gz), Err(IdxError::BadGzip(_))));
        assert_eq!(parse_labels(&[]), Err(IdxError::Empty));
    }

    /// Arbitrary bytes, valid files cut or with bytes flipped, and headers with extreme dimensions
    /// (plain and gzipped) are parsed or refused, never a panic; what parses is consistent.
    #[test]
    fn arbitrary_bytes_never_panic() {
        use crate::rng::{below, rng_for};
        use rand::RngCore;
        let mut rng = rng_for(15, 0);
        let valid = [encode_images(3, 2, 2, &[7; 12]), encode_labels(&[1, 2, 3, 4])];
        let check = |bytes: &[u8]| {
            if let Ok(img) = parse_images(bytes) {
                assert_eq!(img.pixels.len(), img.count * img.rows * img.cols);
            }
            if let Ok(labels) = parse_labels(bytes) {
                assert!(labels.labels.iter().all(|&l| l <= 9));
            }
        };
        for case in 0..3_000 {
            let bytes = match case % 4 {
                0 => {
                    let mut b = vec![0u8; below(&mut rng, 64)];
                    rng.fill_bytes(&mut b);
                    b
                }
                1 => {
                    // Any dimensions, up to u32::MAX, over a short body.
                    let magic = if below(&mut rng, 2) == 0 { IMAGES_MAGIC } else { LABELS_MAGIC };
                    let mut b = magic.to_be_bytes().to_vec();
                    for _ in 0..(magic & 0xff) {
                        let d = [0, 1, 2, 28, u32::MAX, rng.next_u32()][below(&mut rng, 6)];
                        b.extend_from_slice(&d.to_be_bytes());
                    }
                    b.extend(std::iter::repeat_n(3u8, below(&mut rng, 40)));
                    b
                }
                _ => {
                    let mut b = valid[below(&mut rng, 2)].clone();
                    for _ in 0..1 + below(&mut rng, 3) {
                        let at = below(&mut rng, b.len());
                        b[at] = rng.next_u32() as u8;
                    }
                    let keep = below(&mut rng, b.len() + 1);
                    b.truncate(keep);
                    b
                }
            };
            check(&bytes);
            let zipped = gzip(&bytes);
            check(&zipped);
            // A gzip stream cut or flipped anywhere.
            if !zipped.is_empty() {
                let at = below(&mut rng, zipped.len());
                let mut z = zipped.clone();
                z[at] ^= 1 << below(&mut rng, 8);
                check(&z);
                check(&zipped[..at]);
            }
        }
    }

    #[test]
    fn huge_dimensions_are_truncated_files() {
        let mut b = IMAGES_MAGIC.to_be_bytes().to_vec();
        for _ in 0..3 {
            b.extend_from_slice(&u32::MAX.to_be_bytes());
        }
        assert!(matches!(parse_images(&b), Err(IdxError::Truncated { declared: u64::MAX, actual: 0, .. })));
    }

    #[test]
    fn zero_dimension_is_refused() {
        let file = encode_images(0, 28, 28, &[]);
        assert!(matches!(parse_images(&file), Err(IdxError::ZeroDimension { .. })));
    }
}
