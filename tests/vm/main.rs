//! Enforcement proven in a VM: each scenario of tests/vm/scenarios.sh and each attack of
//! tests/vm/attacks.sh (tried where nothing stops it, then against provgate), on each kernel
//! generation, is its own test. One VM boot per kernel serves all of that kernel's results.
use std::{
    path::PathBuf,
    sync::{Mutex, OnceLock},
    time::Duration,
};

use harness::{KERNELS, VmRun};
use provgate_vm as harness;

const BOOT_TIMEOUT: Duration = Duration::from_secs(1500);

fn work_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("vm")
}

fn initramfs() -> &'static Result<PathBuf, String> {
    static IMAGE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    IMAGE.get_or_init(|| {
        harness::prerequisites()?;
        std::fs::create_dir_all(work_dir()).map_err(|e| e.to_string())?;
        harness::build_initramfs(PathBuf::from(env!("CARGO_BIN_EXE_provgate")).as_path(), &work_dir())
    })
}

/// Boots each kernel at most once; a VM boot is slow under TCG (one host thread each), so as
/// many run at a time as there are cores, at most two.
fn vm_run(suite: &str) -> &'static Result<VmRun, String> {
    static RUNS: [OnceLock<Result<VmRun, String>>; KERNELS.len()] = [const { OnceLock::new() }; KERNELS.len()];
    static SLOTS: Mutex<()> = Mutex::new(());
    let index = KERNELS.iter().position(|(_, s)| *s == suite).expect("known suite");
    RUNS[index].get_or_init(|| {
        let image = initramfs().as_ref().map_err(Clone::clone)?;
        let kernel = harness::kernel_image(suite)?;
        let image = harness::kernel_initramfs(image, suite, &work_dir())?;
        let _one_at_a_time = (std::thread::available_parallelism().map_or(1, |n| n.get()) < 2)
            .then(|| SLOTS.lock().unwrap_or_else(|e| e.into_inner()));
        let log = work_dir().join(format!("console-{suite}.log"));
        let run = harness::boot(&kernel, &image, suite, "scenarios,attacks", &log, BOOT_TIMEOUT)?;
        eprintln!("{suite}: VM ran in {:.1}s, console in {}", run.elapsed.as_secs_f64(), log.display());
        Ok(run)
    })
}

/// The kernel's VM run, or `None` (with a one-line reason) where a missing part may be skipped.
fn run_or_skip(suite: &str) -> Option<&'static VmRun> {
    match vm_run(suite) {
        Ok(run) => Some(run),
        Err(why) => provgate_test_support::missing(format!("VM test cannot run: {why}")),
    }
}

fn scenario(suite: &str, name: &str) {
    let Some(run) = run_or_skip(suite) else {
        return;
    };
    match run.results.get(name) {
        Some((true, _)) => {}
        Some((false, detail)) => panic!("{name} failed on {suite}: {detail}\n(console: {})", run.log.display()),
        None => panic!(
            "{name} did not report on {suite} (finished: {}); console {}:\n{}",
            run.finished,
            run.log.display(),
            console_excerpt(&run.console, 40)
        ),
    }
}

/// Every line the VM printed is accounted for: no failure outside the listed scenarios, and the
/// VM ran to the end.
fn complete(suite: &str, listed: &[&str]) {
    let Some(run) = run_or_skip(suite) else {
        return;
    };
    assert!(
        run.finished,
        "VM on {suite} did not finish; console {}:\n{}",
        run.log.display(),
        console_excerpt(&run.console, 60)
    );
    let unlisted: Vec<_> = run.results.iter().filter(|(n, _)| !listed.contains(&n.as_str())).collect();
    assert!(unlisted.is_empty(), "scenarios not covered by a test on {suite}: {unlisted:?}");
}

/// What of the console explains a failure: a kernel oops from its first line (CI keeps only the
/// test's output, and an oops's cause is at its start, not in the panic's tail), else the tail.
fn console_excerpt(text: &str, lines: usize) -> String {
    const OOPS: [&str; 5] = ["BUG:", "Oops:", "general protection fault", "WARNING: CPU:", "Kernel panic"];
    let all: Vec<&str> = text.lines().collect();
    match all.iter().position(|line| OOPS.iter().any(|marker| line.contains(marker))) {
        Some(first) => {
            let start = first.saturating_sub(20);
            all[start..all.len().min(first + 100)].join("\n")
        }
        None => all[all.len().saturating_sub(lines)..].join("\n"),
    }
}

macro_rules! scenarios {
    ($suite:literal: $($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                super::scenario($suite, stringify!($name));
            }
        )+
        #[test]
        fn vm_ran_to_completion() {
            super::complete($suite, &[$(stringify!($name)),+]);
        }
    };
}

macro_rules! kernel {
    ($module:ident, $suite:literal) => {
        mod $module {
            scenarios!($suite:
                allowlisted_binary_runs,
                unknown_binary_denied,
                denial_names_its_parent,
                ld_so_trick_denied,
                dlopen_unknown_library_denied,
                ld_preload_unknown_library_denied,
                mprotect_exec_unknown_denied,
                fileless_exec_denied,
                modified_allowlisted_binary_denied,
                replaced_allowlisted_path_denied,
                scripts_checked,
                outside_scope_untouched,
                anon_exec_allowed_and_counted,
                new_trust_applies_without_restart,
                anon_exec_deniable,
                audit_mode_reports_would_deny,
                observe_only_reports_scripts,
                event_drops_are_counted,
                host_wide_enforce,
                keep_on_exit_and_takeover,
                detach_on_exit,
                first_exec_of_a_fresh_allowlisted_binary,
                library_written_then_loaded,
                overlay_identity_is_content,
                approval_applies_at_once,
                revoke_removes_exactly_that_trust,
                baseline_is_a_revocable_source,
                explain_says_why,
                each_file_hashed_once,
                trust_feed_publish_sync_unpublish,
                unprivileged_user_denied,
                // attacks.sh: each attack works where nothing stops it...
                mmap_write_after_unmap_works_without_provgate,
                mmap_write_while_mapped_works_without_provgate,
                library_rewritten_with_pwrite_works_without_provgate,
                library_rewritten_through_mapping_works_without_provgate,
                library_rewritten_from_outside_scope_works_without_provgate,
                library_rewritten_while_being_mapped_works_without_provgate,
                overlay_library_rewritten_with_pwrite_works_without_provgate,
                overlay_library_rewritten_through_mapping_works_without_provgate,
                overlay_library_mapped_writable_before_loading_works_without_provgate,
                clock_set_back_works_without_provgate,
                new_mount_reuses_device_works_without_provgate,
                ptrace_poketext_works_without_provgate,
                proc_pid_mem_write_works_without_provgate,
                proc_self_mem_write_works_without_provgate,
                ptrace_traceme_works_without_provgate,
                file_mapping_writable_and_executable_works_without_provgate,
                file_mapping_written_then_executable_works_without_provgate,
                file_mapping_executable_made_writable_works_without_provgate,
                copy_on_write_pages_made_executable_works_without_provgate,
                read_implies_exec_heap_works_without_provgate,
                read_implies_exec_mapping_works_without_provgate,
                executable_stack_works_without_provgate,
                userfaultfd_fills_code_works_without_provgate,
                vdso_made_writable_works_without_provgate,
                vdso_written_then_executable_works_without_provgate,
                fuse_served_code_works_without_provgate,
                fuse_layer_swaps_program_works_without_provgate,
                fuse_layer_swaps_library_works_without_provgate,
                fuse_layer_under_nested_overlay_works_without_provgate,
                fuse_layer_made_executable_works_without_provgate,
                module_from_unknown_file_works_without_provgate,
                module_from_memory_works_without_provgate,
                daemon_ld_preload_works_without_provgate,
                bpf_allow_digest_by_id_works_without_hardening,
                pending_mapping_forgotten_works_without_hardening,
                cgroup_escape_procs_works_without_hardening,
                cgroup_escape_clone3_works_without_hardening,
                kill_daemon_from_scope_works_without_hardening,
                raw_block_device_write_works_without_hardening,
                bpf_allow_digest_by_pin_works_without_hardening,
                remove_pins_after_kill_works_without_hardening,
                allow_from_scope_works_without_hardening,
                replace_api_socket_works_without_hardening,
                // ...and is blocked by provgate.
                mmap_write_after_unmap_blocked,
                mmap_write_while_mapped_blocked,
                library_rewritten_with_pwrite_blocked,
                library_rewritten_through_mapping_blocked,
                library_rewritten_from_outside_scope_blocked,
                library_rewritten_while_being_mapped_blocked,
                overlay_library_rewritten_with_pwrite_blocked,
                overlay_library_rewritten_through_mapping_blocked,
                overlay_library_mapped_writable_before_loading_blocked,
                clock_set_back_blocked,
                new_mount_reuses_device_blocked,
                ptrace_poketext_blocked,
                proc_pid_mem_write_blocked,
                proc_self_mem_write_blocked,
                ptrace_traceme_blocked,
                file_mapping_writable_and_executable_blocked,
                file_mapping_written_then_executable_blocked,
                file_mapping_executable_made_writable_blocked,
                copy_on_write_pages_made_executable_blocked,
                read_implies_exec_heap_blocked,
                read_implies_exec_mapping_blocked,
                executable_stack_blocked,
                userfaultfd_fills_code_blocked,
                vdso_made_writable_blocked,
                vdso_written_then_executable_blocked,
                fuse_served_code_blocked,
                fuse_layer_swaps_program_blocked,
                fuse_layer_swaps_library_blocked,
                fuse_layer_under_nested_overlay_blocked,
                fuse_layer_made_executable_blocked,
                module_from_unknown_file_blocked,
                module_from_memory_blocked,
                daemon_ld_preload_blocked,
                bpf_allow_digest_by_id_blocked,
                cgroup_escape_procs_blocked,
                cgroup_escape_clone3_blocked,
                kill_daemon_from_scope_blocked,
                raw_block_device_write_blocked,
                bpf_allow_digest_by_pin_blocked,
                pending_mapping_forgotten_blocked,
                remove_pins_after_kill_blocked,
                allow_from_scope_blocked,
                replace_api_socket_blocked,
                pid_reuse_after_kill_blocked,
                sigkill_without_hardening_fails_open,
                // What must keep working under enforcement.
                jit_runs,
                container_first_start,
                sealed_memfd_runs,
                allowed_module_loads,
                fuse_trusted_by_configuration,
                fuse_layer_audited,
                runc_container_first_start,
                runc_container_written_binary_denied,
            );
        }
    };
}

kernel!(kernel_6_1, "bookworm");
kernel!(kernel_6_12, "bookworm-backports");
kernel!(kernel_newest, "sid");
