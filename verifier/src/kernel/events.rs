//! Decoding the events the programs send through the ring buffer.
use provgate_common::*;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelEvent {
    pub boot_ns: u64,
    pub cgroup_id: u64,
    pub ino: u64,
    pub dev: u32,
    pub tgid: u32,
    pub pid: u32,
    pub uid: u32,
    pub hook: &'static str,
    pub action: &'static str,
    pub reason: &'static str,
    pub comm: String,
    pub path: Option<String>,
    /// The SHA-256 the kernel computed for the file, when it hashed it.
    pub digest: Option<[u8; 32]>,
    /// The process traced or signalled, or the BPF object id, for the hooks that have one.
    pub target: u32,
    /// The parent of the process that tried.
    pub ppid: u32,
    /// The kernel knew the file only by the name the process executed (`path`, perhaps
    /// relative): user space identifies it, and reports it only if it is not allowed.
    pub by_name: bool,
}

pub fn hook_name(hook: u8) -> &'static str {
    match hook {
        HOOK_EXEC => "exec",
        HOOK_MMAP => "mmap",
        HOOK_MPROTECT => "mprotect",
        HOOK_EXEC_OBSERVED => "exec-observed",
        HOOK_WRITE => "write",
        HOOK_PTRACE => "ptrace",
        HOOK_KERNEL_CODE => "kernel-code",
        HOOK_BPF => "bpf",
        HOOK_SIGNAL => "signal",
        HOOK_CGROUP => "cgroup",
        HOOK_UNLINK => "unlink",
        HOOK_ANON_EQUIVALENT => "anon-equivalent",
        _ => "unknown-hook",
    }
}

fn action_name(action: u8) -> &'static str {
    match action {
        ACTION_DENIED => "denied",
        ACTION_AUDITED => "would-deny",
        ACTION_OBSERVED => "observed",
        _ => "unknown-action",
    }
}

pub fn reason_name(reason: u8) -> &'static str {
    match reason {
        REASON_UNKNOWN_FILE => "unknown-file",
        REASON_CHANGED => "changed-since-verdict",
        REASON_ANON_EXEC => "anonymous-exec-memory",
        REASON_UNTRUSTED_FS => "untrusted-filesystem",
        REASON_OPEN_FOR_WRITE => "open-for-writing",
        REASON_UNSEALED_MEMFD => "unsealed-memfd",
        REASON_CHANGED_WHILE_HASHING => "changed-while-hashing",
        REASON_NOT_HASHED => "not-hashed",
        REASON_HASH_FAILED => "hash-failed",
        REASON_WRITABLE_EXEC => "writable-and-executable",
        REASON_MODIFIED_MAPPING => "modified-private-mapping",
        REASON_READ_IMPLIES_EXEC => "read-implies-exec",
        REASON_EXEC_STACK => "executable-stack",
        REASON_CODE_INJECTION => "code-injection",
        REASON_WRITE_TO_CODE_IN_USE => "write-to-code-in-use",
        REASON_KERNEL_CODE_FROM_MEMORY => "kernel-code-from-memory",
        REASON_TAMPERING => "tampering",
        REASON_SCOPE_ESCAPE => "scope-escape",
        REASON_RAW_DEVICE_WRITE => "raw-device-write",
        REASON_USERFAULTFD => "userfaultfd",
        REASON_WRITE_DURING_MAPPING => "write-during-mapping",
        _ => "unknown-reason",
    }
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn decode_path(event: &Event) -> Option<String> {
    match event.path_kind {
        PATH_STRING | PATH_NAME if event.path_len > 1 => {
            let len = (event.path_len as usize - 1).min(event.path.len());
            Some(String::from_utf8_lossy(&event.path[..len]).into_owned())
        }
        kind @ (PATH_COMPONENTS | PATH_COMPONENTS_TRUNCATED) => {
            let used = (event.path_len.max(0) as usize).min(event.path.len() / PATH_SLOT);
            let mut path = if kind == PATH_COMPONENTS_TRUNCATED { String::from("...") } else { String::new() };
            // Slots hold the leaf first.
            for slot in event.path.chunks(PATH_SLOT).take(used).rev() {
                path.push('/');
                path.push_str(&c_string(slot));
            }
            Some(if path.is_empty() { "/".into() } else { path })
        }
        _ => None,
    }
}

/// Decodes one ring-buffer record; `None` if it is not an [`Event`] (wrong size).
pub fn decode(bytes: &[u8]) -> Option<KernelEvent> {
    if bytes.len() < size_of::<Event>() {
        return None;
    }
    // SAFETY: the record is at least size_of::<Event>() bytes and Event is plain data; an
    // unaligned read copes with the ring buffer's 8-byte record alignment.
    let event: Event = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    let path = decode_path(&event);
    Some(KernelEvent {
        boot_ns: event.boot_ns,
        cgroup_id: event.cgroup_id,
        ino: event.ino,
        dev: event.dev,
        tgid: event.tgid,
        pid: event.pid,
        uid: event.uid,
        hook: hook_name(event.hook),
        action: action_name(event.action),
        reason: reason_name(event.reason),
        comm: c_string(&event.comm),
        path,
        digest: (event.flags & EVENT_HAS_DIGEST != 0).then_some(event.digest),
        target: event.target,
        ppid: event.ppid,
        by_name: event.path_kind == PATH_NAME,
    })
}

/// Milliseconds since the epoch for a `bpf_ktime_get_boot_ns` timestamp.
pub fn boot_ns_to_epoch_ms(boot_ns: u64) -> i64 {
    let now = |clock| {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: valid out-pointer.
        unsafe { libc::clock_gettime(clock, &mut ts) };
        ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
    };
    let offset = now(libc::CLOCK_REALTIME) - now(libc::CLOCK_BOOTTIME);
    ((boot_ns as i128 + offset) / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(event: &Event) -> Vec<u8> {
        // SAFETY: Event is plain data.
        unsafe { std::slice::from_raw_parts((event as *const Event).cast::<u8>(), size_of::<Event>()) }.to_vec()
    }

    fn sample() -> Event {
        let mut comm = [0u8; COMM_LEN];
        comm[..5].copy_from_slice(b"hello");
        let mut path = [0u8; PATH_LEN];
        path[..9].copy_from_slice(b"/tmp/evil");
        Event {
            boot_ns: 1,
            cgroup_id: 2,
            ino: 3,
            dev: 4,
            tgid: 5,
            pid: 6,
            uid: 7,
            hook: HOOK_MMAP,
            action: ACTION_DENIED,
            reason: REASON_CHANGED,
            path_kind: PATH_STRING,
            path_len: 10,
            flags: EVENT_HAS_DIGEST,
            target: 0,
            ppid: 1,
            digest: [7; 32],
            comm,
            path,
        }
    }

    #[test]
    fn decodes_an_event() {
        let e = decode(&raw(&sample())).unwrap();
        assert_eq!(e.comm, "hello");
        assert_eq!(e.path.as_deref(), Some("/tmp/evil"));
        assert_eq!((e.hook, e.action, e.reason), ("mmap", "denied", "changed-since-verdict"));
        assert_eq!((e.cgroup_id, e.ino, e.dev, e.tgid, e.pid, e.uid), (2, 3, 4, 5, 6, 7));
        assert_eq!(e.digest, Some([7; 32]));
        assert_eq!(e.ppid, 1);
        assert!(!e.by_name);
    }

    #[test]
    fn a_name_is_kept_as_given_and_marked() {
        let mut event = sample();
        event.path = [0; PATH_LEN];
        event.path[..7].copy_from_slice(b"./x.sh\0");
        event.path_kind = PATH_NAME;
        event.path_len = 7;
        let e = decode(&raw(&event)).unwrap();
        assert_eq!(e.path.as_deref(), Some("./x.sh"));
        assert!(e.by_name);
    }

    #[test]
    fn joins_walked_components() {
        let mut event = sample();
        event.path = [0; PATH_LEN];
        for (slot, name) in ["libevil.so", "lib", "opt"].iter().enumerate() {
            event.path[slot * PATH_SLOT..][..name.len()].copy_from_slice(name.as_bytes());
        }
        event.path_kind = PATH_COMPONENTS;
        event.path_len = 3;
        assert_eq!(decode(&raw(&event)).unwrap().path.as_deref(), Some("/opt/lib/libevil.so"));
        event.path_kind = PATH_COMPONENTS_TRUNCATED;
        assert_eq!(decode(&raw(&event)).unwrap().path.as_deref(), Some(".../opt/lib/libevil.so"));
        event.path_len = 0;
        event.path_kind = PATH_COMPONENTS;
        assert_eq!(decode(&raw(&event)).unwrap().path.as_deref(), Some("/"));
    }

    #[test]
    fn a_failed_path_read_is_no_path() {
        let mut event = sample();
        event.path_len = -36; // -ENAMETOOLONG from bpf_d_path
        assert_eq!(decode(&raw(&event)).unwrap().path, None);
        assert_eq!(decode(&raw(&event)[..10]), None);
    }
}
