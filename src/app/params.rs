//! A hyperparameter's name as the page shows it, in the page's language ("learning rate",
//! "tasa de aprendizaje"); the space, the links and the JSON keep the field's name
//! (`learning_rate`), which a name the page does not know is shown as.

use tunelab::text::{Key, Lang};

/// The label of the hyperparameter `name`.
pub fn param_label(lang: Lang, name: &str) -> String {
    let key = match name {
        "learning_rate" => Key::ParamLearningRate,
        "epochs" => Key::ParamEpochs,
        "batch_size" => Key::ParamBatchSize,
        "conv_layers" => Key::ParamConvLayers,
        "l2" => Key::ParamL2,
        "l1" => Key::ParamL1,
        "optimizer" => Key::ParamOptimizer,
        "momentum" => Key::ParamMomentum,
        "lr_decay" => Key::ParamLrDecay,
        "filters" => Key::ParamFilters,
        "dense_units" => Key::ParamDenseUnits,
        "dropout" => Key::ParamDropout,
        _ => return name.to_string(),
    };
    lang.text(key).to_string()
}
