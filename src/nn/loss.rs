//! Softmax followed by cross-entropy, computed together (the stable way: subtract each row's
//! maximum before exponentiating). The gradient with respect to the logits is
//! (softmax − one-hot) / batch.

#![forbid(unsafe_code)]

/// Mean loss over the batch and the number of rows whose largest logit is the label.
/// If `grad` is given, it receives dLoss/dLogits.
pub fn softmax_cross_entropy(logits: &[f32], labels: &[u8], classes: usize, grad: Option<&mut Vec<f32>>) -> (f32, usize) {
    let batch = labels.len();
    let mut total = 0.0f64;
    let mut correct = 0;
    let mut grad = grad;
    if let Some(g) = grad.as_deref_mut() {
        g.resize(batch * classes, 0.0);
    }
    for (b, &label) in labels.iter().enumerate() {
        let row = &logits[b * classes..][..classes];
        let mut argmax = 0;
        for k in 1..classes {
            if row[k] > row[argmax] {
                argmax = k;
            }
        }
        if argmax == label as usize {
            correct += 1;
        }
        let max = row[argmax];
        let sum: f32 = row.iter().map(|&z| (z - max).exp()).sum();
        let log_sum = sum.ln();
        total += (log_sum - (row[label as usize] - max)) as f64;
        if let Some(g) = grad.as_deref_mut() {
            let g = &mut g[b * classes..][..classes];
            for k in 0..classes {
                let p = (row[k] - max).exp() / sum;
                g[k] = (p - if k == label as usize { 1.0 } else { 0.0 }) / batch as f32;
            }
        }
    }
    ((total / batch.max(1) as f64) as f32, correct)
}

/// The index of the largest value (the first of equals).
pub fn argmax(values: &[f32]) -> usize {
    (1..values.len()).fold(0, |best, k| if values[k] > values[best] { k } else { best })
}

/// The probabilities of one row of logits (`out` as long as `row`), computed the stable way.
pub fn softmax(row: &[f32], out: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (o, &z) in out.iter_mut().zip(row) {
        *o = (z - max).exp();
        sum += *o;
    }
    for o in out.iter_mut() {
        *o /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_the_order() {
        let mut p = [0.0; 3];
        softmax(&[1000.0, 999.0, -5.0], &mut p);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6 && p[0] > p[1] && p[1] > p[2], "{p:?}");
    }

    #[test]
    fn uniform_logits_give_ln_classes() {
        let (loss, _) = softmax_cross_entropy(&[0.0; 20], &[3, 7], 10, None);
        assert!((loss - 10f32.ln()).abs() < 1e-6);
    }

    #[test]
    fn gradient_rows_sum_to_zero_and_match_numeric() {
        let logits = [0.5, -1.0, 2.0, 0.1, 0.3, -0.2];
        let labels = [2, 0];
        let mut g = Vec::new();
        softmax_cross_entropy(&logits, &labels, 3, Some(&mut g));
        for row in g.chunks(3) {
            assert!(row.iter().sum::<f32>().abs() < 1e-6);
        }
        for i in 0..6 {
            let (mut a, mut b) = (logits, logits);
            a[i] += 1e-2;
            b[i] -= 1e-2;
            let num = (softmax_cross_entropy(&a, &labels, 3, None).0 - softmax_cross_entropy(&b, &labels, 3, None).0) / 2e-2;
            assert!((num - g[i]).abs() < 1e-3, "logit {i}: {num} vs {}", g[i]);
        }
    }

    #[test]
    fn huge_logits_stay_finite() {
        let (loss, correct) = softmax_cross_entropy(&[1000.0, -1000.0], &[0], 2, None);
        assert!(loss.is_finite() && loss.abs() < 1e-6);
        assert_eq!(correct, 1);
    }
}
