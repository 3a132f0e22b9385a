//! Only the `provgate-ebpf` binary matters (built for `bpfel-unknown-none` by aya-build); this
//! library target exists so `verifier/build.rs` can depend on the crate and be rebuilt when it
//! changes.
#![no_std]
