//! What a cgroup path says about the workload in it: the container (docker, containerd, CRI-O,
//! podman and kubelet put its id in the path) and, under kubelet, the pod's UID. The pod's name
//! and namespace are not in the cgroup hierarchy, so they are not here.

/// The full container id in a cgroup path (a 64-hex-digit segment, possibly prefixed like
/// `docker-`, `cri-containerd-`, `crio-`, `libpod-` and suffixed `.scope`).
pub fn container_id(cgroup_path: &str) -> Option<&str> {
    cgroup_path.rsplit('/').find_map(|segment| {
        segment
            .trim_end_matches(".scope")
            .rsplit(['-', ':'])
            .next()
            .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
    })
}

/// The container id shortened to 12 digits, as `docker ps` and `denials` show it.
pub fn container_of(cgroup_path: &str) -> Option<String> {
    container_id(cgroup_path).map(|id| id[..12].to_owned())
}

/// The Kubernetes pod UID in a cgroup path kubelet made, with either cgroup driver:
/// systemd (`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/...`,
/// the UID's dashes written as underscores) or cgroupfs (`/kubepods/burstable/pod<uid>/...`).
pub fn pod_uid(cgroup_path: &str) -> Option<String> {
    let mut segments = cgroup_path.split('/').filter(|s| !s.is_empty());
    // Only below kubelet's own root: a `pod…` directory elsewhere is someone else's name.
    if !segments.next().is_some_and(|root| root == "kubepods" || root == "kubepods.slice") {
        return None;
    }
    segments.find_map(|segment| {
        let uid = match segment.strip_suffix(".slice") {
            Some(unit) => unit.rsplit_once("-pod")?.1,
            None => segment.strip_prefix("pod")?,
        };
        let uid = uid.replace('_', "-");
        // A UUID, or a static pod's UID (a hash of its manifest: 32 hex digits).
        let plausible = (32..=36).contains(&uid.len()) && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        plausible.then_some(uid)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_container_ids() {
        let id = "4f1c2b3a".repeat(8);
        assert_eq!(container_of(&format!("/system.slice/docker-{id}.scope")), Some(id[..12].to_owned()));
        assert_eq!(container_id(&format!("/docker/{id}")), Some(id.as_str()));
        assert_eq!(
            container_of(&format!("/kubepods.slice/kubepods-pod1.slice/cri-containerd-{id}.scope")),
            Some(id[..12].to_owned())
        );
        assert_eq!(container_of(&format!("/machine.slice/libpod-{id}.scope/container")), Some(id[..12].to_owned()));
        assert_eq!(container_of("/user.slice/user-1000.slice/session-2.scope"), None);
        assert_eq!(container_of("/"), None);
    }

    #[test]
    fn finds_pod_uids_with_either_cgroup_driver() {
        let id = "4f1c2b3a".repeat(8);
        let uid = "0f3c8a52-6b1e-4d7a-9c2e-5b8f1a3d7e90";
        let systemd_uid = uid.replace('-', "_");
        for path in [
            format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{systemd_uid}.slice/cri-containerd-{id}.scope"
            ),
            format!("/kubepods.slice/kubepods-pod{systemd_uid}.slice/crio-{id}.scope"),
            format!("/kubepods/burstable/pod{uid}/{id}"),
            format!("/kubepods/pod{uid}/{id}"),
            format!("/kubepods/besteffort/pod{uid}"),
        ] {
            assert_eq!(pod_uid(&path).as_deref(), Some(uid), "{path}");
        }
        // A static pod's UID is its manifest's hash.
        let hash = "6a1c1e2c4b9d7f3e8a0b5c6d7e8f9a0b";
        assert_eq!(pod_uid(&format!("/kubepods/burstable/pod{hash}/{id}")).as_deref(), Some(hash));
        // Not kubelet's: no pod.
        assert_eq!(pod_uid(&format!("/system.slice/docker-{id}.scope")), None);
        assert_eq!(pod_uid(&format!("/user.slice/pod{uid}")), None);
        assert_eq!(pod_uid("/kubepods.slice/kubepods-burstable.slice"), None);
        assert_eq!(pod_uid("/"), None);
    }
}
