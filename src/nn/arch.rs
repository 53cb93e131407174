//! Network architectures as data: a list of layer specifications, checked for shape, with what
//! each costs (multiply–adds, memory per image). `Model::build` turns one into layers. The tuning
//! space's networks come from a `TrainConfig` (`TrainConfig::architecture`); the benchmark's
//! reference networks (LeNet-5-like and the TF.js MNIST example) are written out here.

#![forbid(unsafe_code)]

use crate::data::mnist::{CLASSES, IMAGE_SIDE};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// Zero padding k/2: the output is as large as the input.
    Same,
    /// No padding: the output is smaller by k − 1.
    Valid,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LayerSpec {
    /// k×k convolution, stride 1, then ReLU.
    Conv {
        filters: u32,
        kernel: u32,
        padding: Padding,
    },
    /// 2×2 max-pool, stride 2.
    MaxPool,
    /// Fully connected, then ReLU. The first one flattens the image.
    Dense {
        units: u32,
    },
    Dropout {
        rate: f32,
    },
}

/// Layers between the 28×28 input and the 10-way output layer (which is always appended).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    pub layers: Vec<LayerSpec>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ArchError {
    #[error("layer {index} ({what}) gets a {height}×{width} input, too small for it")]
    TooSmall { index: usize, what: String, height: usize, width: usize },
    #[error("layer {index}: a convolution or pool cannot follow a dense layer")]
    SpatialAfterDense { index: usize },
}

/// The shape of activations between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    Image { channels: usize, height: usize, width: usize },
    Flat(usize),
}

impl Shape {
    /// Values per image.
    pub(super) fn len(self) -> usize {
        match self {
            Shape::Image { channels, height, width } => channels * height * width,
            Shape::Flat(n) => n,
        }
    }
}

impl Architecture {
    /// LeNet-5-like, as PyTorch's MNIST examples write it: conv6 5×5 (padded to keep 28×28,
    /// standing in for LeNet's 32×32 input) → max-pool → conv16 5×5 → max-pool → 120 → 84 → 10.
    pub fn lenet5() -> Self {
        use LayerSpec::*;
        Self {
            layers: vec![
                Conv { filters: 6, kernel: 5, padding: Padding::Same },
                MaxPool,
                Conv { filters: 16, kernel: 5, padding: Padding::Valid },
                MaxPool,
                Dense { units: 120 },
                Dense { units: 84 },
            ],
        }
    }

    /// The TF.js MNIST example: conv16 3×3 → max-pool → conv32 3×3 → max-pool → conv32 3×3 → 64 → 10.
    pub fn tfjs_example() -> Self {
        use LayerSpec::*;
        Self {
            layers: vec![
                Conv { filters: 16, kernel: 3, padding: Padding::Valid },
                MaxPool,
                Conv { filters: 32, kernel: 3, padding: Padding::Valid },
                MaxPool,
                Conv { filters: 32, kernel: 3, padding: Padding::Valid },
                Dense { units: 64 },
            ],
        }
    }

    /// Walk the layers, checking shapes; `visit` gets each layer's spec, input and output shape.
    pub(super) fn walk(&self, mut visit: impl FnMut(usize, &LayerSpec, Shape, Shape)) -> Result<Shape, ArchError> {
        let mut shape = Shape::Image { channels: 1, height: IMAGE_SIDE, width: IMAGE_SIDE };
        for (index, spec) in self.layers.iter().enumerate() {
            let next = match (*spec, shape) {
                (LayerSpec::Conv { filters, kernel, padding }, Shape::Image { height, width, .. }) => {
                    let k = kernel as usize;
                    let pad = if padding == Padding::Same { k / 2 } else { 0 };
                    if height + 2 * pad < k || width + 2 * pad < k {
                        return Err(ArchError::TooSmall { index, what: format!("conv {k}×{k}"), height, width });
                    }
                    Shape::Image { channels: filters as usize, height: height + 2 * pad + 1 - k, width: width + 2 * pad + 1 - k }
                }
                (LayerSpec::MaxPool, Shape::Image { channels, height, width }) => {
                    if height < 2 || width < 2 {
                        return Err(ArchError::TooSmall { index, what: "max-pool 2×2".into(), height, width });
                    }
                    Shape::Image { channels, height: height / 2, width: width / 2 }
                }
                (LayerSpec::Conv { .. } | LayerSpec::MaxPool, Shape::Flat(_)) => return Err(ArchError::SpatialAfterDense { index }),
                (LayerSpec::Dense { units }, _) => Shape::Flat(units as usize),
                (LayerSpec::Dropout { .. }, s) => s,
            };
            visit(index, spec, shape, next);
            shape = next;
        }
        Ok(shape)
    }

    /// Check that every layer fits its input.
    pub fn check(&self) -> Result<(), ArchError> {
        self.walk(|_, _, _, _| {}).map(|_| ())
    }

    /// Values each layer keeps per image: (forward buffers, backward buffers), in f32 units.
    /// Used to refuse networks that would not fit in a browser worker's memory.
    pub fn buffer_values_per_image(&self) -> (u64, u64) {
        let (mut forward, mut backward) = (0u64, 0u64);
        let size = |s: Shape| s.len() as u64;
        let pooled = |index: usize| matches!(self.layers.get(index + 1), Some(LayerSpec::MaxPool));
        let out = self.walk(|index, spec, input, output| {
            let (i, o) = (size(input), size(output));
            match (*spec, input) {
                (LayerSpec::Conv { .. }, Shape::Image { .. }) => {
                    forward += o; // output (inputs are unrolled in small blocks)
                                  // dZ (unless the max-pool above takes the ReLU's gradient), input gradient
                    backward += if pooled(index) { 0 } else { o } + i;
                }
                (LayerSpec::MaxPool, _) => {
                    forward += o;
                    backward += i;
                }
                (LayerSpec::Dense { .. }, _) => {
                    forward += o + i; // output (+ the flatten before it)
                    backward += o + 2 * i;
                }
                (LayerSpec::Dropout { .. }, _) => {
                    forward += 2 * o;
                    backward += o;
                }
                _ => {}
            }
        });
        if let Ok(last) = out {
            let i = size(last);
            forward += i + CLASSES as u64;
            backward += 2 * i + CLASSES as u64;
        }
        (forward, backward)
    }

    /// Multiply–adds per image in one forward pass (a training step costs about three times this).
    pub fn forward_macs(&self) -> u64 {
        let mut macs = 0u64;
        let size = |s: Shape| s.len() as u64;
        let out = self.walk(|_, spec, input, output| match (*spec, input) {
            (LayerSpec::Conv { kernel, .. }, Shape::Image { channels, .. }) => macs += size(output) * (channels as u64) * (kernel * kernel) as u64,
            (LayerSpec::Dense { .. }, _) => macs += size(input) * size(output),
            _ => {}
        });
        if let Ok(last) = out {
            macs += size(last) * CLASSES as u64;
        }
        macs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenet_costs_about_2_3_mflop_per_training_image() {
        // A training step is about 3× the forward multiply–adds, 2 FLOP each.
        let mflop = Architecture::lenet5().forward_macs() as f64 * 6.0 / 1e6;
        assert!((2.0..2.7).contains(&mflop), "{mflop}");
    }

    #[test]
    fn shapes_that_do_not_fit_are_errors() {
        let too_deep = Architecture { layers: vec![LayerSpec::MaxPool; 5] };
        assert!(matches!(too_deep.check(), Err(ArchError::TooSmall { index: 4, .. })));
        let after_dense = Architecture { layers: vec![LayerSpec::Dense { units: 8 }, LayerSpec::MaxPool] };
        assert_eq!(after_dense.check(), Err(ArchError::SpatialAfterDense { index: 1 }));
    }
}
