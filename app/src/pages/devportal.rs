//! Developer Portal shell: the catalogue (public) and the signed-in user's applications.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::Portal;
use crate::components::{EmptyState, PageTitle, PortalPage, SubNav};

fn nav() -> impl IntoView {
    view! {
        <SubNav links=vec![
            ("APIs", "/devportal".to_string()),
            ("Applications", "/devportal/applications".to_string()),
        ]/>
    }
}

#[component]
pub fn Catalogue() -> impl IntoView {
    view! {
        <Title text="Developer Portal"/>
        <PortalPage portal=Portal::DevPortal>
            {nav()}
            <PageTitle title="APIs" subtitle="Find an API, subscribe an application, and try it out."/>
            <EmptyState
                title="No APIs are published yet"
                detail="When a publisher publishes an API it appears here, with its documentation, tiers and a try-out console."
            />
        </PortalPage>
    }
}

#[component]
pub fn Applications() -> impl IntoView {
    view! {
        <Title text="Applications"/>
        <PortalPage portal=Portal::DevPortal>
            {nav()}
            <PageTitle title="Applications" subtitle="Applications hold your subscriptions and keys."/>
            <EmptyState
                title="You have no applications yet"
                detail="An application groups the APIs you subscribe to and carries the keys your client uses to call them."
            />
        </PortalPage>
    }
}
