use std::env;

// bpf-linker is the linker for the bpfel target; say so clearly instead of letting rustc fail
// with "linker not found" deep inside aya-build's output.
fn main() {
    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("bpf") {
        return;
    }
    let linker = which::which("bpf-linker").unwrap_or_else(|_| {
        panic!("bpf-linker is not on PATH: run scripts/setup.sh (it installs bpf-linker built against LLVM 22)")
    });
    println!("cargo:rerun-if-changed={}", linker.display());
}
