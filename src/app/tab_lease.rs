//! One writer per journal: the tab that runs a race holds a lease on its journal in
//! `localStorage` (shared by the tabs of this site), renewed every few seconds and given up when
//! the page goes. Another tab that opens the same race while the lease is held shows it as it
//! stood and is told the race goes on elsewhere, so two tabs never append to one journal. A tab
//! that crashed stops renewing, and its lease lapses.
//!
//! A tab keeps its name in `sessionStorage`, which survives a reload of that tab: a page
//! reloaded mid-race is the lease's holder and goes on writing.

use js_sys::Math;
use web_sys::Storage;

const KEY_PREFIX: &str = "tunelab-writer:";
const TAB_KEY: &str = "tunelab-tab";
/// How often the holder renews its lease.
pub const RENEW_MS: u32 = 2_000;
/// A lease not renewed for this long has lapsed.
const LAPSE_MS: f64 = 6_000.0;

fn local() -> Option<Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// This tab's name (kept across reloads of the tab).
fn tab() -> String {
    let session = web_sys::window().and_then(|w| w.session_storage().ok().flatten());
    if let Some(name) = session.as_ref().and_then(|s| s.get_item(TAB_KEY).ok().flatten()) {
        return name;
    }
    let name = format!("{:08x}", (Math::random() * f64::from(u32::MAX)) as u32);
    if let Some(s) = session {
        let _ = s.set_item(TAB_KEY, &name);
    }
    name
}

/// Whether another tab holds a live lease on journal `id`.
pub fn held_elsewhere(id: &str) -> bool {
    let Some(value) = local().and_then(|s| s.get_item(&format!("{KEY_PREFIX}{id}")).ok().flatten()) else { return false };
    let mut parts = value.split(' ');
    let (holder, at) = (parts.next().unwrap_or(""), parts.next().and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0));
    holder != tab() && js_sys::Date::now() - at < LAPSE_MS
}

/// Take (or renew) the lease on journal `id`; false if another tab holds it. Without
/// `localStorage` there is no other tab to fear, and the lease is granted.
pub fn claim(id: &str) -> bool {
    if held_elsewhere(id) {
        return false;
    }
    if let Some(s) = local() {
        let _ = s.set_item(&format!("{KEY_PREFIX}{id}"), &format!("{} {}", tab(), js_sys::Date::now()));
    }
    true
}

/// Give up the lease on journal `id` (if this tab holds it).
pub fn release(id: &str) {
    if !held_elsewhere(id) {
        if let Some(s) = local() {
            let _ = s.remove_item(&format!("{KEY_PREFIX}{id}"));
        }
    }
}
