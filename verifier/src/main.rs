//! provgate: only code whose provenance is proven may run.
mod hashing;
mod identity;
mod kernel;
mod store;

fn main() {}
