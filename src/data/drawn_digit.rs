//! A digit drawn by hand, prepared as MNIST's digits were (LeCun et al., "The MNIST database":
//! "normalized to fit in a 20x20 pixel box while preserving their aspect ratio … centered in a
//! 28x28 image by computing the center of mass of the pixels, and translating the image so as to
//! position this point at the center of the 28x28 field"), so that a network trained on MNIST
//! sees a drawing as it saw its training images.
//!
//! The drawing's ink (any pixel above 0) is cropped to its bounding box, scaled by area
//! averaging so that its longer side is 20 pixels, and placed in 28 × 28 with its centre of mass
//! at (14, 14), moved back inside the field where the shift would push ink out of it.

use super::mnist::{IMAGE_SIDE, PIXELS_PER_IMAGE};

/// The box the digit is scaled to fit.
const BOX: usize = 20;

/// The fewest canvas pixels a drawing's longer side must span: a dot or a short tick, scaled to
/// 20 pixels, is a blob no digit looks like.
pub const MIN_EXTENT: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DrawingError {
    #[error("the canvas is blank: draw a digit first")]
    Blank,
    #[error("the drawing is too small to read ({0} pixels across): draw the digit larger")]
    TooSmall(usize),
    #[error("the canvas has {got} values, not {width} × {height}")]
    WrongSize { width: usize, height: usize, got: usize },
}

/// The 28 × 28 image (0 = background, 255 = full ink) for a `width` × `height` canvas of ink
/// intensities (row by row, 0 = none).
pub fn prepare(canvas: &[u8], width: usize, height: usize) -> Result<Vec<u8>, DrawingError> {
    if canvas.len() != width * height || width == 0 || height == 0 {
        return Err(DrawingError::WrongSize { width, height, got: canvas.len() });
    }
    let inked = |x: usize, y: usize| canvas[y * width + x] > 0;
    let rows: Vec<usize> = (0..height).filter(|&y| (0..width).any(|x| inked(x, y))).collect();
    let cols: Vec<usize> = (0..width).filter(|&x| (0..height).any(|y| inked(x, y))).collect();
    let (Some(&top), Some(&bottom), Some(&left), Some(&right)) = (rows.first(), rows.last(), cols.first(), cols.last()) else {
        return Err(DrawingError::Blank);
    };
    let (w, h) = (right - left + 1, bottom - top + 1);
    if w.max(h) < MIN_EXTENT {
        return Err(DrawingError::TooSmall(w.max(h)));
    }
    // Scale so the longer side is 20 pixels: each output pixel averages the canvas area it covers.
    let scale = BOX as f64 / w.max(h) as f64;
    let (sw, sh) = (((w as f64 * scale).round() as usize).clamp(1, BOX), ((h as f64 * scale).round() as usize).clamp(1, BOX));
    let mut scaled = vec![0.0f64; sw * sh];
    for (i, value) in scaled.iter_mut().enumerate() {
        let (ox, oy) = (i % sw, i / sw);
        let (x0, x1) = (ox as f64 * w as f64 / sw as f64, (ox + 1) as f64 * w as f64 / sw as f64);
        let (y0, y1) = (oy as f64 * h as f64 / sh as f64, (oy + 1) as f64 * h as f64 / sh as f64);
        let (mut sum, mut area) = (0.0, 0.0);
        for y in y0.floor() as usize..(y1.ceil() as usize).min(h) {
            let dy = (y1.min(y as f64 + 1.0) - y0.max(y as f64)).max(0.0);
            for x in x0.floor() as usize..(x1.ceil() as usize).min(w) {
                let dx = (x1.min(x as f64 + 1.0) - x0.max(x as f64)).max(0.0);
                sum += canvas[(top + y) * width + left + x] as f64 * dx * dy;
                area += dx * dy;
            }
        }
        *value = if area > 0.0 { sum / area } else { 0.0 };
    }
    // Centre of mass of the scaled digit, moved to the field's centre, kept inside the field.
    let mass: f64 = scaled.iter().sum();
    let (cx, cy) = scaled.iter().enumerate().fold((0.0, 0.0), |(cx, cy), (i, v)| (cx + (i % sw) as f64 * v, cy + (i / sw) as f64 * v));
    let centre = (IMAGE_SIDE as f64 - 1.0) / 2.0;
    let offset = |com: f64, size: usize| ((centre - com / mass).round() as i64).clamp(0, (IMAGE_SIDE - size) as i64) as usize;
    let (dx, dy) = (offset(cx, sw), offset(cy, sh));
    let mut image = vec![0u8; PIXELS_PER_IMAGE];
    for (i, v) in scaled.iter().enumerate() {
        image[(dy + i / sw) * IMAGE_SIDE + dx + i % sw] = v.round().clamp(0.0, 255.0) as u8;
    }
    Ok(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas(width: usize, height: usize, ink: impl Fn(usize, usize) -> bool) -> Vec<u8> {
        (0..width * height).map(|i| if ink(i % width, i / width) { 255 } else { 0 }).collect()
    }

    /// The image's inked bounding box (left, top, width, height) and centre of mass.
    fn measure(image: &[u8]) -> ((usize, usize, usize, usize), (f64, f64)) {
        let ink: Vec<(usize, usize, f64)> =
            image.iter().enumerate().filter(|(_, &v)| v > 0).map(|(i, &v)| (i % IMAGE_SIDE, i / IMAGE_SIDE, v as f64)).collect();
        let (l, r) = (ink.iter().map(|p| p.0).min().unwrap(), ink.iter().map(|p| p.0).max().unwrap());
        let (t, b) = (ink.iter().map(|p| p.1).min().unwrap(), ink.iter().map(|p| p.1).max().unwrap());
        let mass: f64 = ink.iter().map(|p| p.2).sum();
        let com = (ink.iter().map(|p| p.0 as f64 * p.2).sum::<f64>() / mass, ink.iter().map(|p| p.1 as f64 * p.2).sum::<f64>() / mass);
        ((l, t, r - l + 1, b - t + 1), com)
    }

    #[test]
    fn a_stroke_anywhere_on_the_canvas_is_scaled_to_twenty_pixels_and_centred_by_mass() {
        // A tall bar (a "1") in a corner of a 280 × 280 canvas, 20 wide and 200 high.
        let one = canvas(280, 280, |x, y| (10..30).contains(&x) && (50..250).contains(&y));
        let image = prepare(&one, 280, 280).unwrap();
        let ((_, _, w, h), (cx, cy)) = measure(&image);
        assert_eq!((w, h), (2, 20), "the longer side fills the 20-pixel box, the aspect ratio kept");
        assert!((cx - 13.5).abs() <= 0.5 && (cy - 13.5).abs() <= 0.5, "centred by mass: {cx}, {cy}");
        // The same stroke elsewhere gives the same image.
        let moved = canvas(280, 280, |x, y| (200..220).contains(&x) && (70..270).contains(&y));
        assert_eq!(prepare(&moved, 280, 280).unwrap(), image);
    }

    #[test]
    fn ink_heavier_on_one_side_moves_the_box_off_centre_but_never_out_of_the_field() {
        // An "L": its mass sits low and left, so its box shifts right and up of the centre.
        let l = canvas(100, 100, |x, y| ((10..20).contains(&x) && (10..90).contains(&y)) || ((10..80).contains(&x) && (80..90).contains(&y)));
        let image = prepare(&l, 100, 100).unwrap();
        let ((left, top, w, h), (cx, cy)) = measure(&image);
        assert_eq!(h, 20);
        assert!(left + w <= IMAGE_SIDE && top + h <= IMAGE_SIDE);
        assert!((cx - 13.5).abs() <= 0.5 && (cy - 13.5).abs() <= 0.5, "{cx}, {cy}");
    }

    #[test]
    fn a_blank_canvas_a_dot_and_a_wrong_size_are_refused_with_a_reason() {
        assert_eq!(prepare(&[0; 100], 10, 10), Err(DrawingError::Blank));
        let dot = canvas(100, 100, |x, y| x == 50 && y == 50);
        assert_eq!(prepare(&dot, 100, 100), Err(DrawingError::TooSmall(1)));
        assert_eq!(prepare(&dot, 10, 10).unwrap_err().to_string(), "the canvas has 10000 values, not 10 × 10");
        assert!(DrawingError::TooSmall(1).to_string().contains("draw the digit larger"));
    }
}
