//! The page ↔ worker messages as JavaScript values: one encoder and one decoder, compiled into
//! both the page and the worker (`src/bin/worker.rs` includes this file), so the two sides
//! cannot disagree on the serializer's settings or the envelope's keys
//! (`tunelab::protocol::envelope`). Messages to a worker travel in the envelope; messages
//! from a worker are the bare message object.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tunelab::protocol::envelope;
use wasm_bindgen::JsValue;

/// A message as a plain JS object (maps as objects, so the other side reads plain fields).
pub fn encode(message: &impl Serialize) -> Result<JsValue, String> {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    message.serialize(&serializer).map_err(|e| format!("cannot encode a message: {e}"))
}

pub fn decode<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// An envelope holding `message` under `envelope::MESSAGE`; more fields may be added with `put`.
pub fn envelope_of(message: &impl Serialize) -> Result<js_sys::Object, String> {
    let envelope = js_sys::Object::new();
    put(&envelope, envelope::MESSAGE, &encode(message)?);
    Ok(envelope)
}

pub fn put(envelope: &js_sys::Object, key: &str, value: &JsValue) {
    // Setting a field on a plain object cannot fail.
    let _ = js_sys::Reflect::set(envelope, &key.into(), value);
}

pub fn field(envelope: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(envelope, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// The message inside an envelope.
pub fn open<T: DeserializeOwned>(envelope: &JsValue) -> Result<T, String> {
    decode(field(envelope, envelope::MESSAGE))
}
