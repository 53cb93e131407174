//! The experiment's link in the address bar: read once when the page opens, and kept up to date
//! as the panel changes (replacing the history entry, so Back still leaves the page). The codec
//! is the core's (`tunelab::share::link`).

use tunelab::share::link::{decode, Opened};
use wasm_bindgen::JsValue;

/// The link the page was opened with, if its address has a fragment.
pub fn read() -> Option<Opened> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let fragment = hash.trim_start_matches('#');
    (!fragment.is_empty()).then(|| decode(fragment))
}

/// Put `fragment` in the address bar, unless it is there already.
pub fn show(fragment: &str) {
    let Some(window) = web_sys::window() else { return };
    let wanted = format!("#{fragment}");
    if window.location().hash().ok().as_deref() == Some(wanted.as_str()) {
        return;
    }
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&wanted));
    }
}

/// The page's address with `fragment`: the link to share.
pub fn address(fragment: &str) -> String {
    let here = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    let base = here.split('#').next().unwrap_or_default();
    format!("{base}#{fragment}")
}

/// Copy `text` to the clipboard (a browser may refuse; the link stays on the page to copy by hand).
pub fn copy(text: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
}
