//! Who is acting, for the audit log.

/// The invoking user: `SUDO_USER` when run through sudo, else the uid's name.
pub fn current_user() -> String {
    if let Ok(user) = std::env::var("SUDO_USER") {
        return user;
    }
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_owned())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}
