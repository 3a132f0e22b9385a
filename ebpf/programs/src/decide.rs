//! The one decision every hook makes, and the event it reports.
use aya_ebpf::{
    bindings::path,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_uid_gid,
        generated::{
            bpf_d_path, bpf_get_current_ancestor_cgroup_id, bpf_get_current_cgroup_id,
            bpf_ktime_get_boot_ns,
        },
    },
};
use provgate_common::{
    ACTION_AUDITED, ACTION_DENIED, ACTION_OBSERVED, COMM_LEN, Event, MAX_CGROUP_LEVEL, MODE_AUDIT,
    MODE_ENFORCE, MODE_OFF, PATH_LEN, PATH_NONE, PATH_STRING, REASON_ANON_EXEC, REASON_CHANGED,
    REASON_UNKNOWN_FILE, Settings, VERDICT_ALLOW, counter,
};

use crate::{
    inode::{Identity, identity, path_components},
    maps::{EVENTS, OFFSETS, SCOPES, VERDICTS, count, settings},
};

const EPERM: i32 = 1;
const BPF_RB_AVAIL_DATA: u64 = 0;
const BPF_RB_NO_WAKEUP: u64 = 1;
const BPF_RB_FORCE_WAKEUP: u64 = 2;

/// Where an event's path comes from.
#[derive(Clone, Copy)]
pub enum PathSource {
    /// A `struct path *` for `bpf_d_path`: the full path, mount-aware.
    DPath(*const u8),
    /// A `struct file *` whose path is walked dentry by dentry.
    Walk(*const u8),
}

/// The caller's mode and the settings it came from; `None` when the caller is out of scope.
#[inline(always)]
pub fn scope() -> Option<(u32, &'static Settings)> {
    let settings = settings()?;
    let mut mode = settings.host_mode;
    if settings.scope_levels != 0 {
        // The deepest listed ancestor wins, so a container's own scope overrides its parent's.
        let mut level = MAX_CGROUP_LEVEL as i32;
        while level >= 0 {
            if settings.scope_levels & (1 << level) != 0 {
                // SAFETY: helper with no pointer arguments.
                let id = unsafe { bpf_get_current_ancestor_cgroup_id(level) };
                // SAFETY: map values are plain u32s.
                if let Some(scoped) = unsafe { SCOPES.get(&id) } {
                    mode = *scoped;
                    break;
                }
            }
            level -= 1;
        }
    }
    if mode == MODE_OFF { None } else { Some((mode, settings)) }
}

/// Checks a file against the verdict map. Returns 0 or `-EPERM`.
#[inline(always)]
pub fn check_file(
    hook: u8,
    mode: u32,
    settings: &Settings,
    file: *const u8,
    path: PathSource,
) -> i32 {
    let offsets = OFFSETS.load();
    let (reason, id) = match identity(&offsets, file) {
        Ok(id) => {
            // SAFETY: map values are plain data.
            match unsafe { VERDICTS.get(&id.key) } {
                Some(v)
                    if v.flags & VERDICT_ALLOW != 0
                        && v.ctime_sec == id.ctime_sec
                        && v.ctime_nsec == id.ctime_nsec
                        && v.size == id.size =>
                {
                    count(counter::ALLOWED + hook as u32);
                    return 0;
                }
                Some(_) => (REASON_CHANGED, Some(id)),
                None => (REASON_UNKNOWN_FILE, Some(id)),
            }
        }
        Err(_) => {
            count(counter::READ_ERRORS);
            (REASON_UNKNOWN_FILE, None)
        }
    };
    refuse(hook, mode, settings, reason, id.as_ref(), Some(path))
}

/// Anonymous executable memory: counted always, refused only when configured.
#[inline(always)]
pub fn check_anon_exec(hook: u8, mode: u32, settings: &Settings) -> i32 {
    count(counter::ANON_EXEC);
    if settings.deny_anon_exec == 0 {
        return 0;
    }
    refuse(hook, mode, settings, REASON_ANON_EXEC, None, None)
}

#[inline(always)]
fn refuse(
    hook: u8,
    mode: u32,
    settings: &Settings,
    reason: u8,
    id: Option<&Identity>,
    path: Option<PathSource>,
) -> i32 {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if tgid == settings.daemon_tgid {
        count(counter::DAEMON_EXEMPT);
        return 0;
    }
    let (action, verdict, counter_base) = if mode == MODE_ENFORCE {
        (ACTION_DENIED, -EPERM, counter::DENIED)
    } else if mode == MODE_AUDIT {
        (ACTION_AUDITED, 0, counter::AUDITED)
    } else {
        (ACTION_OBSERVED, 0, counter::AUDITED)
    };
    count(counter_base + hook as u32);
    emit(hook, action, reason, id, path, settings);
    verdict
}

#[inline(always)]
fn emit(hook: u8, action: u8, reason: u8, id: Option<&Identity>, path: Option<PathSource>, settings: &Settings) {
    let Some(mut entry) = EVENTS.reserve::<Event>(0) else {
        count(counter::EVENTS_DROPPED);
        return;
    };
    let event = entry.as_mut_ptr();
    let pid_tgid = bpf_get_current_pid_tgid();
    // SAFETY: `event` points at a reserved ring-buffer record of the right size; every field
    // is written before submit.
    unsafe {
        (*event).boot_ns = bpf_ktime_get_boot_ns();
        (*event).cgroup_id = bpf_get_current_cgroup_id();
        (*event).ino = id.map_or(0, |id| id.key.ino);
        (*event).dev = id.map_or(0, |id| id.key.dev);
        (*event).tgid = (pid_tgid >> 32) as u32;
        (*event).pid = pid_tgid as u32;
        (*event).uid = bpf_get_current_uid_gid() as u32;
        (*event).hook = hook;
        (*event).action = action;
        (*event).reason = reason;
        (*event).comm = bpf_get_current_comm().unwrap_or([0; COMM_LEN]);
        let buf = &mut (*event).path;
        let (kind, len) = match path {
            Some(PathSource::DPath(p)) => {
                (PATH_STRING, bpf_d_path(p as *mut path, buf.as_mut_ptr().cast(), PATH_LEN as u32) as i32)
            }
            Some(PathSource::Walk(file)) => path_components(&OFFSETS.load(), file, buf).unwrap_or((PATH_NONE, 0)),
            None => (PATH_NONE, 0),
        };
        (*event).path_kind = kind;
        (*event).path_len = len;
    }
    // Waking the reader costs far more than the hook itself; only wake it once a batch has
    // built up. The reader also polls on a timer, so a lone event is delayed, never lost.
    let flags = if EVENTS.query(BPF_RB_AVAIL_DATA) >= settings.wakeup_bytes {
        BPF_RB_FORCE_WAKEUP
    } else {
        BPF_RB_NO_WAKEUP
    };
    entry.submit(flags);
}
