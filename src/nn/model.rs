//! A network ready to train: its layers, built from an `Architecture` (`Model::build`), and the
//! forward, backward and evaluation passes over a batch. The network the lab tunes
//! (`TrainConfig::architecture`) is
//!
//! ```text
//! input 1×28×28 → [conv 3×3 + ReLU → max-pool 2×2] × (up to 2) → [conv 3×3 + ReLU] × (rest)
//!               → flatten → [dense + ReLU] (optional) → [dropout] (optional) → dense 10 → softmax
//! ```

#![forbid(unsafe_code)]

use super::arch::{ArchError, Architecture, LayerSpec, Padding, Shape};
use super::conv::{Conv2d, ConvShape};
use super::dense::Dense;
use super::dropout::Dropout;
use super::flatten::Flatten;
use super::layer::{Layer, ParamTensor, Pass};
use super::loss::softmax_cross_entropy;
use super::max_pool::MaxPool2x2;
use crate::data::mnist::{ImagesRef, CLASSES, PIXELS_PER_IMAGE};
use crate::rng::Rng64;

/// Batch size for evaluation passes. Larger batches barely speed evaluation up (convolutions
/// are evaluated in cache-sized blocks anyway) but size every layer's output buffer, and so a
/// worker's memory.
pub const EVAL_BATCH: usize = 64;

/// MNIST's pixel mean and standard deviation (over the training set, pixels scaled to [0, 1]);
/// inputs are standardised with them, which lets plain SGD train without care.
const PIXEL_MEAN: f32 = 0.1307;
const PIXEL_STD: f32 = 0.3081;

pub struct Model {
    layers: Vec<Box<dyn Layer>>,
    input: Vec<f32>,
    grad_logits: Vec<f32>,
    pixel_table: [f32; 256],
}

impl Model {
    /// Build `network` — an `Architecture` whose layers fit 28×28 images, or a `&ValidConfig`
    /// (its `architecture()`, which always fits) — initialised from `rng`. Panics if a layer
    /// does not fit (`Model::build` says which instead).
    pub fn new(network: impl Into<Architecture>, rng: &mut Rng64) -> Self {
        Self::build(&network.into(), rng).expect("the network fits 28×28 images")
    }

    /// Build the layers `architecture` lists, initialised from `rng`, or say which one does not
    /// fit its input.
    pub fn build(architecture: &Architecture, rng: &mut Rng64) -> Result<Self, ArchError> {
        let mut specs = Vec::new();
        let out = architecture.walk(|_, spec, input, output| specs.push((*spec, input, output)))?;
        let mut layers: Vec<Box<dyn Layer>> = Vec::new();
        let flatten = |layers: &mut Vec<Box<dyn Layer>>, shape: Shape| match shape {
            Shape::Image { channels, height, width } => {
                layers.push(Box::new(Flatten::new(channels, height * width)));
                channels * height * width
            }
            Shape::Flat(n) => n,
        };
        // A max-pool right above a convolution (whose ReLU it pools) also takes the gradient
        // through that ReLU, in the pass that routes it: one pass over the activations, not two.
        let pooled = |i: usize| specs.get(i + 1).is_some_and(|(next, _, _)| matches!(next, LayerSpec::MaxPool));
        // The plane a max-pooled convolution hands its max-pool: what it computes (`even_output`).
        let mut to_max_pool = None;
        for (i, &(spec, input, _)) in specs.iter().enumerate() {
            match (spec, input) {
                (LayerSpec::Conv { filters, kernel, padding }, Shape::Image { channels, height, width }) => {
                    let k = kernel as usize;
                    let pad = if padding == Padding::Same { k / 2 } else { 0 };
                    // Max-pooled, it computes only the rows and columns the max-pool reads.
                    let shape = ConvShape { in_channels: channels, height, width, kernel: k, pad, even_output: pooled(i) };
                    let conv = Conv2d::new(shape, filters as usize, true, rng);
                    if pooled(i) {
                        to_max_pool = Some((shape.out_height(), shape.out_width()));
                        layers.push(Box::new(conv.with_relu_gradient_above()));
                    } else {
                        layers.push(Box::new(conv));
                    }
                }
                (LayerSpec::MaxPool, Shape::Image { channels, height, width }) => {
                    // Above a convolution it pools the even part the convolution computed, which
                    // gives what pooling the whole would.
                    let max_pool = match to_max_pool.take() {
                        Some((height, width)) => MaxPool2x2::new(channels, height, width).after_relu(),
                        None => MaxPool2x2::new(channels, height, width),
                    };
                    layers.push(Box::new(max_pool));
                }
                (LayerSpec::Dense { units }, shape) => {
                    let inputs = flatten(&mut layers, shape);
                    layers.push(Box::new(Dense::new(inputs, units as usize, true, rng)));
                }
                (LayerSpec::Dropout { rate }, shape) => layers.push(Box::new(Dropout::new(rate, shape.len()))),
                _ => unreachable!("walk checked the shapes"),
            }
        }
        let inputs = flatten(&mut layers, out);
        layers.push(Box::new(Dense::new(inputs, CLASSES, false, rng)));
        Ok(Self::from_layers(layers))
    }

    /// A model from any stack of layers whose first reads 28×28 images and last gives 10 logits.
    pub fn from_layers(layers: Vec<Box<dyn Layer>>) -> Self {
        let mut pixel_table = [0.0; 256];
        for (v, out) in pixel_table.iter_mut().enumerate() {
            *out = (v as f32 / 255.0 - PIXEL_MEAN) / PIXEL_STD;
        }
        Self { layers, input: Vec::new(), grad_logits: Vec::new(), pixel_table }
    }

    /// A one-line summary, e.g. "conv 3×3, 16 filters → max-pool 2×2 → … (28,938 parameters)".
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self.layers.iter().map(|l| l.describe()).collect();
        format!("{} ({} parameters)", parts.join(" → "), self.param_count())
    }

    pub fn param_count(&self) -> usize {
        self.layers.iter().map(|l| l.param_count()).sum()
    }

    /// Multiply–adds per image in one forward pass.
    pub fn forward_macs(&self) -> usize {
        self.layers.iter().map(|l| l.forward_macs()).sum()
    }

    /// Convert the chosen images' u8 pixels to standardised f32 in the input buffer (`1 × B × 28 × 28`).
    pub fn load_batch(&mut self, data: ImagesRef<'_>, indices: &[usize]) {
        self.input.resize(indices.len() * PIXELS_PER_IMAGE, 0.0);
        for (dst, &i) in self.input.chunks_exact_mut(PIXELS_PER_IMAGE).zip(indices) {
            for (d, &p) in dst.iter_mut().zip(data.image(i)) {
                *d = self.pixel_table[p as usize];
            }
        }
    }

    /// Load a batch given as raw f32 inputs (gradient checks and tests).
    pub fn load_raw(&mut self, input: &[f32]) {
        self.input.clear();
        self.input.extend_from_slice(input);
    }

    /// Forward the loaded batch; returns the logits (`B × 10`).
    pub fn forward(&mut self, batch: usize, pass: &mut Pass<'_>) -> &[f32] {
        for i in 0..self.layers.len() {
            let (before, rest) = self.layers.split_at_mut(i);
            let input: &[f32] = if i == 0 { &self.input } else { before[i - 1].output() };
            rest[0].forward(input, batch, pass);
        }
        self.layers.last().expect("a model has layers").output()
    }

    /// Loss and correct count of the last forward pass against `labels`, and backpropagation
    /// of that loss through every layer (the gradients land in the layers).
    pub fn backward(&mut self, labels: &[u8]) -> (f32, usize) {
        let batch = labels.len();
        let logits = self.layers.last().expect("a model has layers").output();
        let (loss, correct) = softmax_cross_entropy(logits, labels, CLASSES, Some(&mut self.grad_logits));
        if !loss.is_finite() {
            return (loss, correct);
        }
        for i in (0..self.layers.len()).rev() {
            let (before, rest) = self.layers.split_at_mut(i);
            let (layer, after) = rest.split_first_mut().expect("index in range");
            let input: &[f32] = if i == 0 { &self.input } else { before[i - 1].output() };
            let grad_output: &[f32] = if after.is_empty() { &self.grad_logits } else { after[0].grad_input() };
            layer.backward(input, grad_output, batch, i > 0);
        }
        (loss, correct)
    }

    pub fn visit_params(&mut self, visit: &mut dyn FnMut(ParamTensor<'_>)) {
        for layer in &mut self.layers {
            layer.visit_params(visit);
        }
    }

    /// Mean loss and accuracy over `data`, without dropout, in batches of `batch`.
    pub fn evaluate(&mut self, data: ImagesRef<'_>, batch: usize, rng: &mut Rng64) -> (f32, f32) {
        self.evaluate_subset(data, None, batch, rng)
    }

    /// `evaluate` on the images `indices` of `data` (all of them if None).
    pub fn evaluate_subset(&mut self, data: ImagesRef<'_>, indices: Option<&[usize]>, batch: usize, rng: &mut Rng64) -> (f32, f32) {
        let n = indices.map_or(data.len(), <[usize]>::len);
        if n == 0 {
            return (f32::NAN, f32::NAN);
        }
        let (mut chunk, mut labels): (Vec<usize>, Vec<u8>) = (Vec::with_capacity(batch), Vec::with_capacity(batch));
        let (mut loss_sum, mut correct) = (0.0f64, 0usize);
        let mut start = 0;
        while start < n {
            let end = (start + batch).min(n);
            chunk.clear();
            match indices {
                Some(indices) => chunk.extend_from_slice(&indices[start..end]),
                None => chunk.extend(start..end),
            }
            labels.clear();
            labels.extend(chunk.iter().map(|&i| data.labels[i]));
            self.load_batch(data, &chunk);
            let logits = self.forward(end - start, &mut Pass { training: false, rng });
            let (loss, ok) = softmax_cross_entropy(logits, &labels, CLASSES, None);
            loss_sum += loss as f64 * (end - start) as f64;
            correct += ok;
            start = end;
        }
        ((loss_sum / n as f64) as f32, correct as f32 / n as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::config::TrainConfig;
    use crate::rng::rng_for;

    #[test]
    fn reference_networks_have_their_published_sizes() {
        let lenet = Model::build(&Architecture::lenet5(), &mut rng_for(1, 1)).unwrap();
        // conv1 6·25+6, conv2 16·150+16, 400·120+120, 120·84+84, 84·10+10
        assert_eq!(lenet.param_count(), 156 + 2416 + 48120 + 10164 + 850);
        let tfjs = Model::build(&Architecture::tfjs_example(), &mut rng_for(1, 1)).unwrap();
        // 26→13, 11→5, 3: conv 160 + 4640 + 9248, dense 288·64+64, 64·10+10
        assert_eq!(tfjs.param_count(), 160 + 4640 + 9248 + 18496 + 650);
        assert!(tfjs.describe().contains("conv 3×3, valid, 32 filters"), "{}", tfjs.describe());
    }

    #[test]
    fn the_spec_and_the_built_layers_count_the_same_work() {
        for arch in [Architecture::lenet5(), Architecture::tfjs_example(), TrainConfig::default().architecture()] {
            let model = Model::build(&arch, &mut rng_for(1, 1)).unwrap();
            assert_eq!(model.forward_macs() as u64, arch.forward_macs());
        }
    }

    #[test]
    fn the_config_network_is_the_one_model_new_builds() {
        let config = TrainConfig::default().validate().unwrap();
        let a = Model::new(&config, &mut rng_for(3, 1)).describe();
        let b = Model::build(&config.architecture(), &mut rng_for(3, 1)).unwrap().describe();
        assert_eq!(a, b);
    }
}
