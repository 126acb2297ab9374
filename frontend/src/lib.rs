//! The WASM entry point: hydrates the server-rendered portals. Nothing else lives here.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Browser tests wait for this before they rely on client-side behaviour.
    let _ = js_sys::Reflect::set(
        &js_sys::global(),
        &"__gatehouse_hydrated".into(),
        &true.into(),
    );
}
