//! The two element-wise passes a convolution's backward makes over its output gradient: the
//! gradient through its ReLU and the bias gradient (each filter's sum), in one pass; or the sum
//! alone. Sums run in a fixed order of eight running lanes, which vectorises and is the same on
//! every machine.

/// `dst = grad where output > 0, else 0` (the gradient through a ReLU, given its output), and
/// `lane_sum(dst)`, in one pass.
pub(crate) fn relu_gradient_and_sum(grad: &[f32], output: &[f32], dst: &mut [f32]) -> f32 {
    assert!(grad.len() == dst.len() && output.len() == dst.len());
    let n = dst.len() / 8 * 8;
    let mut acc = relu_gradient_eights(&grad[..n], &output[..n], &mut dst[..n]);
    for (i, ((d, &g), &o)) in dst[n..].iter_mut().zip(&grad[n..]).zip(&output[n..]).enumerate() {
        *d = if o > 0.0 { g } else { 0.0 };
        acc[i] += *d;
    }
    add_eight(acc)
}

/// Eight running sums added in pairs, then pairs of pairs: the one order both sums above use.
fn add_eight(acc: [f32; 8]) -> f32 {
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// The masked gradient of whole groups of eight, and each lane's running sum. The comparisons
/// as vector masks: V8 turns a scalar select into a branch, which random signs mispredict.
#[cfg(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64"))]
fn relu_gradient_eights(grad: &[f32], output: &[f32], dst: &mut [f32]) -> [f32; 8] {
    use super::simd::four::*;
    assert!(grad.len() == dst.len() && output.len() == dst.len() && dst.len().is_multiple_of(8));
    let (mut low, mut high) = (zero(), zero());
    for i in (0..dst.len()).step_by(8) {
        // SAFETY: i + 8 ≤ len for all three slices (asserted).
        unsafe {
            let (o, g, d) = (output.as_ptr().add(i), grad.as_ptr().add(i), dst.as_mut_ptr().add(i));
            let v0 = and(load(g), greater(load(o), zero()));
            let v1 = and(load(g.add(4)), greater(load(o.add(4)), zero()));
            store(d, v0);
            store(d.add(4), v1);
            low = add(low, v0);
            high = add(high, v1);
        }
    }
    let (low, high) = (lanes(low), lanes(high));
    [low[0], low[1], low[2], low[3], high[0], high[1], high[2], high[3]]
}

#[cfg(not(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64")))]
fn relu_gradient_eights(grad: &[f32], output: &[f32], dst: &mut [f32]) -> [f32; 8] {
    let mut acc = [0.0f32; 8];
    for ((d, g), o) in dst.chunks_exact_mut(8).zip(grad.chunks_exact(8)).zip(output.chunks_exact(8)) {
        for i in 0..8 {
            d[i] = if o[i] > 0.0 { g[i] } else { 0.0 };
            acc[i] += d[i];
        }
    }
    acc
}

/// The sum of `values`, in a fixed order that vectorises: eight running sums over the values
/// taken eight at a time, the leftovers added to them in turn, then the eight added in pairs.
/// (A plain left-to-right sum cannot use vector lanes, and waits on each addition in turn.)
pub(crate) fn lane_sum(values: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a += v;
        }
    }
    for (a, &v) in acc.iter_mut().zip(rest) {
        *a += v;
    }
    add_eight(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_gradient_and_sum_masks_and_sums_like_the_separate_steps() {
        for len in [0, 1, 7, 8, 9, 31, 100] {
            let grad: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let output: Vec<f32> = (0..len).map(|i| (i as f32 * 0.71).cos() - 0.2).collect();
            let mut dst = vec![f32::NAN; len];
            let sum = relu_gradient_and_sum(&grad, &output, &mut dst);
            let want: Vec<f32> = grad.iter().zip(&output).map(|(&g, &o)| if o > 0.0 { g } else { 0.0 }).collect();
            assert_eq!(dst, want, "length {len}");
            assert_eq!(sum.to_bits(), lane_sum(&want).to_bits(), "length {len}");
            let plain: f64 = want.iter().map(|&v| v as f64).sum();
            assert!((sum as f64 - plain).abs() < 1e-5, "length {len}: {sum} vs {plain}");
        }
    }
}
