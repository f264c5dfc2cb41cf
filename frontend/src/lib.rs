//! The WASM entry point: take over the server-rendered page.

use leptos::prelude::document;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Asynchronous hydration: an editor page, split into a module of its own (see
    // `lazy_pages!` in the app), is hydrated once its code has arrived.
    wasm_bindgen_futures::spawn_local(async {
        let Some(body) = document().body() else { return };
        leptos::mount::hydrate_from_async(body, switchyard_app::App).await.forget();
        // Mark the document once the app is hydrated, modules and all: the browser tests wait
        // for it before they use a form.
        if let Some(body) = document().body() {
            let _ = body.set_attribute(switchyard_app::HYDRATED_ATTRIBUTE, "");
        }
    });
}
