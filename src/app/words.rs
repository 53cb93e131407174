//! The page's language: the one signal every string reads (`tunelab::text` holds the words), so
//! switching redraws the whole interface at once; remembered in the browser's storage, and
//! followed by `<html lang>`. A first visit takes the browser's language if the page speaks it.

use leptos::prelude::*;
use tunelab::text::{Key, Lang};

/// Where the chosen language is remembered.
const STORAGE_KEY: &str = "tunelab.lang";

/// A handle to the page's language; cheap to copy into every closure.
#[derive(Clone, Copy)]
pub struct Words(RwSignal<Lang>);

impl Words {
    /// The language remembered, else the browser's, else English.
    pub fn new() -> Self {
        let window = web_sys::window();
        let stored = window.as_ref().and_then(|w| w.local_storage().ok().flatten()).and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        let browser = window.as_ref().and_then(|w| w.navigator().language());
        let lang = stored.or(browser).as_deref().and_then(Lang::from_code).unwrap_or_default();
        let words = Self(RwSignal::new(lang));
        words.follow_in_document(lang);
        words
    }

    /// The language now (tracked: a view reading it redraws when it changes).
    pub fn lang(&self) -> Lang {
        self.0.get()
    }

    pub fn set(&self, lang: Lang) {
        self.0.set(lang);
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            // Private browsing may refuse; the choice then lasts for this visit.
            let _ = storage.set_item(STORAGE_KEY, lang.code());
        }
        self.follow_in_document(lang);
    }

    fn follow_in_document(&self, lang: Lang) {
        if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
            let _ = root.set_attribute("lang", lang.code());
        }
    }

    /// The text of `key` (tracked).
    pub fn get(&self, key: Key) -> &'static str {
        self.lang().text(key)
    }

    /// The text of `key` as a view that follows the language.
    pub fn t(self, key: Key) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
        move || self.get(key)
    }

    /// The text of `key` with its placeholders filled (tracked).
    pub fn fill(&self, key: Key, values: &[(&str, &str)]) -> String {
        self.lang().fill(key, values)
    }

    pub fn percent(&self, v: f64) -> String {
        self.lang().percent(v)
    }

    pub fn thousands(&self, n: u64) -> String {
        self.lang().thousands(n)
    }
}

/// The language picker.
#[component]
pub fn LanguagePicker() -> impl IntoView {
    let words = expect_context::<Words>();
    view! {
        <label class="lang-picker">
            <span>{words.t(Key::LanguageLabel)}</span>
            <select id="lang" on:change=move |e| {
                if let Some(lang) = Lang::from_code(&event_target_value(&e)) {
                    words.set(lang);
                }
            }>
                {Lang::ALL.map(|l| view! { <option value=l.code() selected=move || words.lang() == l>{l.name()}</option> }).to_vec()}
            </select>
        </label>
    }
}
