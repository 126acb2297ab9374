//! One module per portal, plus sign-in and the error pages.

pub mod admin;
pub mod ai_index;
pub mod analytics;
pub mod api_chat;
pub mod applications;
pub mod assistant;
pub mod devportal;
pub mod documents;
pub mod errors;
pub mod feedback;
pub mod gateway_diagnostics;
pub mod gateway_policies;
pub mod gateways;
pub mod key_managers;
pub mod publisher;
pub mod settings;
pub mod sign_in;
pub mod throttling;
pub(crate) mod throttling_advanced;
pub mod workflows;
