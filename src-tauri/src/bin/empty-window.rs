//! An almost empty Tauri 2 window (a blank page, no commands), built with the same Tauri
//! and profile as Onsite: the baseline `cargo xtask bench` measures Onsite's memory against.
//! Prints `ONSITE_READY <ms>` when the page has loaded.

use std::time::Instant;

use tauri::webview::PageLoadEvent;
use tauri::{WebviewUrl, WebviewWindowBuilder};

fn main() {
    let started = Instant::now();
    tauri::Builder::default()
        .setup(|app| {
            // ONSITE_EMPTY_PAGE picks another page of ui/public, to take memory apart.
            let page = std::env::var("ONSITE_EMPTY_PAGE").unwrap_or_else(|_| "empty.html".into());
            WebviewWindowBuilder::new(app, "main", WebviewUrl::App(page.into()))
                .title("empty")
                .inner_size(1100.0, 760.0)
                .build()?;
            Ok(())
        })
        .on_page_load(move |_, payload| {
            if payload.event() == PageLoadEvent::Finished {
                println!("ONSITE_READY {}", started.elapsed().as_millis());
            }
        })
        .run(tauri::generate_context!())
        .expect("error while running the empty window");
}
