//! Publisher shell: where APIs are created, published and deployed.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::Portal;
use crate::components::{EmptyState, PageTitle, PortalPage, SubNav};

#[component]
pub fn Apis() -> impl IntoView {
    view! {
        <Title text="Publisher"/>
        <PortalPage portal=Portal::Publisher>
            <SubNav links=vec![("APIs", "/publisher".to_string())]/>
            <PageTitle title="APIs" subtitle="Design, publish and deploy your APIs."/>
            <EmptyState
                title="No APIs yet"
                detail="APIs you create by hand or import from an OpenAPI document are listed here with their lifecycle state."
            />
        </PortalPage>
    }
}
