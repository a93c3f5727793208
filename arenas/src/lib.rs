//! # pcct-arenas
//!
//! Arena-backed CSR buffers and counting-sort CSR builders for the pcct build
//! pipeline. This crate is a skeleton until its issue lands.
