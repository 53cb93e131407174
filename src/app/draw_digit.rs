//! Draw a digit: a canvas a student draws on with a mouse, a finger, a pen or the keyboard, read live by the
//! retrained network in the final worker (never on the page's thread). The page only sends the
//! canvas's ink; the worker prepares it as MNIST's digits were (`data::drawn_digit`) and answers
//! with the image the network saw and its ten probabilities, both shown here.

use super::explain::{Explain, Topic};
use super::lab::Lab;
use super::words::Words;
use leptos::html::Canvas;
use leptos::prelude::*;
use tunelab::data::mnist::IMAGE_SIDE;
use tunelab::protocol::ReadFailure;
use tunelab::text::Key;
use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData, PointerEvent};

/// The drawing canvas's size in its own pixels (it is shown at this size, or smaller on a phone).
const SIDE: u32 = 280;
/// The pen's width, in canvas pixels: MNIST's strokes are about a tenth of the digit's height.
const PEN: f64 = 20.0;
/// While the pen moves, how often at most the drawing is sent to be read.
const READ_EVERY_MS: f64 = 80.0;
/// The keyboard pen's step, in canvas pixels (with Shift, a finer one).
const KEY_STEP: f64 = 14.0;
const FINE_STEP: f64 = 4.0;

fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok().flatten()?.dyn_into().ok()
}

/// Paint a 28 × 28 grey image (0 background, 255 ink) on `canvas`, dark ink on white.
pub fn paint_digit(canvas: &HtmlCanvasElement, pixels: &[u8]) {
    let Some(ctx) = context(canvas) else { return };
    let rgba: Vec<u8> = pixels.iter().flat_map(|&p| [255 - p, 255 - p, 255 - p, 255]).collect();
    if let Ok(image) = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&rgba), IMAGE_SIDE as u32, IMAGE_SIDE as u32) {
        let _ = ctx.put_image_data(&image, 0.0, 0.0);
    }
}

/// Where a pointer event falls on the canvas, in the canvas's own pixels (it may be drawn
/// smaller than it is).
fn point(canvas: &HtmlCanvasElement, e: &PointerEvent) -> (f64, f64) {
    let rect = canvas.get_bounding_client_rect();
    let scale = |size: f64| if size > 0.0 { SIDE as f64 / size } else { 1.0 };
    ((e.client_x() as f64 - rect.left()) * scale(rect.width()), (e.client_y() as f64 - rect.top()) * scale(rect.height()))
}

/// The canvas's ink: the alpha of each pixel (strokes are opaque on a transparent canvas).
fn ink(canvas: &HtmlCanvasElement) -> Option<Vec<u8>> {
    let data = context(canvas)?.get_image_data(0.0, 0.0, SIDE as f64, SIDE as f64).ok()?.data();
    Some(data.0.chunks_exact(4).map(|px| px[3]).collect())
}

#[component]
pub fn DrawDigit() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let words = expect_context::<Words>();
    let canvas = NodeRef::<Canvas>::new();
    let prepared = NodeRef::<Canvas>::new();
    let reading = lab.reading();
    let ready = Memo::new(move |_| {
        lab.final_shown().get().is_some_and(|id| {
            lab.retrainings().with(|r| r.get(id).is_some_and(|r| matches!(r.state, tunelab::experiment::final_eval::RetrainState::Tested(_))))
        })
    });
    // The pen is down (and where it was), and when the drawing was last sent.
    let pen = StoredValue::new(None::<(f64, f64)>);
    let last_read = StoredValue::new(f64::NEG_INFINITY);
    let drawn = RwSignal::new(false);
    let send = move || {
        if let Some(c) = canvas.get_untracked() {
            if let Some(ink) = ink(&c) {
                last_read.set_value(super::workers::now_ms());
                lab.read_drawing(ink, SIDE, SIDE);
            }
        }
    };
    let stroke = move |from: (f64, f64), to: (f64, f64)| {
        let Some(ctx) = canvas.get_untracked().as_ref().and_then(context) else { return };
        ctx.set_line_width(PEN);
        ctx.set_line_cap("round");
        ctx.set_line_join("round");
        ctx.set_stroke_style_str("#000");
        ctx.begin_path();
        ctx.move_to(from.0, from.1);
        ctx.line_to(to.0, to.1);
        ctx.stroke();
    };
    let down = move |e: PointerEvent| {
        let Some(c) = canvas.get_untracked() else { return };
        e.prevent_default();
        let _ = c.set_pointer_capture(e.pointer_id());
        let p = point(&c, &e);
        stroke(p, p);
        pen.set_value(Some(p));
        drawn.set(true);
    };
    let moved = move |e: PointerEvent| {
        let (Some(c), Some(from)) = (canvas.get_untracked(), pen.get_value()) else { return };
        e.prevent_default();
        let to = point(&c, &e);
        stroke(from, to);
        pen.set_value(Some(to));
        if super::workers::now_ms() - last_read.get_value() >= READ_EVERY_MS {
            send();
        }
    };
    let up = move |_e: PointerEvent| {
        if pen.get_value().is_some() {
            pen.set_value(None);
            send();
        }
    };
    // The keyboard's pen: arrows move it, Space or Enter puts it down or lifts it, Delete clears.
    let cursor = RwSignal::new((SIDE as f64 / 2.0, SIDE as f64 / 2.0));
    let key_pen = RwSignal::new(false);
    let clear = move || {
        if let Some(ctx) = canvas.get_untracked().as_ref().and_then(context) {
            ctx.clear_rect(0.0, 0.0, SIDE as f64, SIDE as f64);
        }
        if let Some(p) = prepared.get_untracked() {
            paint_digit(&p, &[0; IMAGE_SIDE * IMAGE_SIDE]);
        }
        drawn.set(false);
        key_pen.set(false);
        send();
    };
    let on_key = move |e: leptos::ev::KeyboardEvent| {
        let step = if e.shift_key() { FINE_STEP } else { KEY_STEP };
        let (dx, dy) = match e.key().as_str() {
            "ArrowLeft" => (-step, 0.0),
            "ArrowRight" => (step, 0.0),
            "ArrowUp" => (0.0, -step),
            "ArrowDown" => (0.0, step),
            " " | "Enter" => {
                e.prevent_default();
                let down = !key_pen.get_untracked();
                key_pen.set(down);
                if down {
                    let p = cursor.get_untracked();
                    stroke(p, p);
                    drawn.set(true);
                }
                send();
                return;
            }
            "Escape" => {
                if key_pen.get_untracked() {
                    key_pen.set(false);
                    send();
                }
                return;
            }
            "Delete" | "Backspace" => {
                e.prevent_default();
                clear();
                return;
            }
            _ => return,
        };
        e.prevent_default();
        let from = cursor.get_untracked();
        let to = ((from.0 + dx).clamp(0.0, SIDE as f64), (from.1 + dy).clamp(0.0, SIDE as f64));
        cursor.set(to);
        if key_pen.get_untracked() {
            stroke(from, to);
            if super::workers::now_ms() - last_read.get_value() >= READ_EVERY_MS {
                send();
            }
        }
    };
    let focused = RwSignal::new(false);
    // The image the network saw.
    Effect::new(move |_| {
        if let (Some(p), Some(Ok(r))) = (prepared.get(), reading.get().map(|r| r.result)) {
            paint_digit(&p, &r.prepared);
        }
    });
    let pending = lab.reading_pending();
    let digit = move || reading.with(|r| r.as_ref().and_then(|r| r.result.as_ref().ok().map(|r| r.digit().to_string()))).filter(|_| ready.get());
    let ms = move || reading.with(|r| r.as_ref().map(|r| format!("{:.1}", r.ms))).filter(|_| ready.get());
    let prediction = move || {
        let read = reading.get();
        match (ready.get(), read) {
            (false, _) => view! { <p class="hint">{words.t(Key::DrawNeedsModel)}</p> }.into_any(),
            (true, None) => view! { <p class="hint">{words.t(Key::DrawPrompt)}</p> }.into_any(),
            (true, Some(read)) => match read.result {
                Err(ReadFailure::Blank) => view! { <p class="hint">{words.t(Key::DrawBlank)}</p> }.into_any(),
                Err(ReadFailure::TooSmall) => view! { <p class="hint">{words.t(Key::DrawTooSmall)}</p> }.into_any(),
                Err(ReadFailure::Other(why)) => view! { <p class="hint">{capitalised(&why)}</p> }.into_any(),
                Ok(r) => {
                    let digit = r.digit();
                    let bars = r
                        .probabilities
                        .iter()
                        .enumerate()
                        .map(|(k, &p)| {
                            view! {
                                <li class:top=k == digit>
                                    <span class="digit">{k}</span>
                                    <span class="bar"><span style=format!("width:{:.1}%", p * 100.0)></span></span>
                                    <span class="value">{words.lang().percent_with(p as f64, 0)}</span>
                                </li>
                            }
                        })
                        .collect_view();
                    view! {
                        <p class="result">{reads(words, digit, r.probabilities[digit] as f64)}</p>
                        <ol class="probabilities" start="0" aria-label=words.t(Key::DrawProbabilities)>{bars}</ol>
                        <p class="hint">{words.fill(Key::DrawReadIn, &[("ms", &format!("{:.0}", read.ms))])}</p>
                    }
                    .into_any()
                }
            },
        }
    };
    view! {
        <div class="draw" id="draw">
            <div class="view-title"><h3>{words.t(Key::DrawTitle)}</h3><Explain topic=Topic::DrawDigit /></div>
            <div class="draw-grid">
                <div>
                    <div class="draw-surface">
                        <canvas
                            id="draw-canvas"
                            node_ref=canvas
                            width=SIDE.to_string()
                            height=SIDE.to_string()
                            tabindex="0"
                            role="application"
                            aria-label=words.t(Key::DrawCanvasLabel)
                            aria-describedby="draw-keys"
                            on:pointerdown=down
                            on:pointermove=moved
                            on:pointerup=up
                            on:pointercancel=up
                            on:keydown=on_key
                            on:focus=move |_| focused.set(true)
                            on:blur=move |_| focused.set(false)
                        ></canvas>
                        <span class="key-pen" class:down=move || key_pen.get() class:hidden=move || !focused.get() aria-hidden="true"
                            style=move || { let (x, y) = cursor.get(); format!("left:{:.2}%;top:{:.2}%", 100.0 * x / SIDE as f64, 100.0 * y / SIDE as f64) }></span>
                    </div>
                    <p class="hint" id="draw-keys">{words.t(Key::DrawKeys)}</p>
                    <div class="actions">
                        <button class="secondary" id="draw-clear" on:click=move |_| clear() disabled=move || !drawn.get()>{words.t(Key::Clear)}</button>
                    </div>
                </div>
                <figure class="prepared">
                    <canvas node_ref=prepared width="28" height="28" role="img" aria-label=words.t(Key::PreparedLabel)></canvas>
                    <figcaption class="hint">{words.t(Key::PreparedCaption)}</figcaption>
                </figure>
                <div id="draw-prediction" role="status" data-digit=digit data-ms=ms data-pending=move || pending.get().then_some("true") aria-busy=move || pending.get().to_string()>
                    {prediction}
                </div>
            </div>
        </div>
    }
}

/// "The network reads a 7 (98% sure)", the digit in large type.
fn reads(words: Words, digit: usize, sure: f64) -> impl IntoView {
    let text = words.fill(Key::DrawReads, &[("sure", &words.lang().percent_with(sure, 0))]);
    let (before, after) = text.split_once("{digit}").unwrap_or((&text, ""));
    view! { {before.to_string()} <strong class="read-digit">{digit}</strong> {after.to_string()} }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or(String::new(), |c| c.to_uppercase().chain(chars).collect())
}
