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
        if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
            let banner = format!(
                "<div id=\"fatal-error\" role=\"alert\"><strong>tunelab stopped because of an internal error.</strong> \
                 Reload the page to start again. Details: {}</div>",
                info.to_string().replace('&', "&amp;").replace('<', "&lt;")
            );
            let _ = body.insert_adjacent_html("afterbegin", &banner);
        }
    }));
    leptos::mount::mount_to_body(app::App);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("tunelab-app is the browser app; serve it with the README's serve command");
}
