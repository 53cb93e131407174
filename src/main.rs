//! The browser app: install the panic reporters and mount the page. Everything else is in
//! `app/` (the shell) and the `tunelab` library (the core).

#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
fn main() {
    // A panic must never leave a blank page: log it, and put its text on the screen.
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            // Built as nodes, its text only ever text: a panic's message may quote a link or a file.
            let banner = document.create_element("div").ok();
            let title = document.create_element("strong").ok();
            if let (Some(body), Some(banner), Some(title)) = (document.body(), banner, title) {
                banner.set_id("fatal-error");
                let _ = banner.set_attribute("role", "alert");
                title.set_text_content(Some("tunelab stopped because of an internal error."));
                let _ = banner.append_with_node_1(&title);
                let _ = banner.append_with_str_1(&format!(" Reload the page to start again. Details: {info}"));
                let _ = body.prepend_with_node_1(&banner);
            }
        }
    }));
    leptos::mount::mount_to_body(app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("tunelab-app is the browser app; serve it with the README's serve command");
}
