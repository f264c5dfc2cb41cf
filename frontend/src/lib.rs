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
        // Then, when the browser is idle, the modules of the pages most visits go to next are
        // loaded ahead (usually from the cache, where the `<link rel="prefetch">`s put them):
        // following a link to an editor then waits for its data only. A build without split modules has no such
        // loader; nothing happens.
        let parts: Vec<String> = switchyard_app::PRELOADED_ROUTES.iter().map(|r| r.to_string()).collect();
        let _ = preload(parts);
    });
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// Added to the split modules' loader by the build (`xtask/src/front.rs`, `with_preload`):
    /// loads, when the browser is idle, the modules whose names contain one of `parts`. A load
    /// that fails is left for the page to try again when it opens; it never reaches the app.
    #[wasm_bindgen(js_namespace = globalThis, js_name = __switchyardPreload, catch)]
    fn preload(parts: Vec<String>) -> Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>;
}
