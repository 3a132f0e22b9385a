//! How commands that talk to registries (`image add`, `publish`, `feed`) find credentials and
//! which registries they may reach over plain HTTP.
use std::path::PathBuf;

use provgate_oci::RegistryConfig;

#[derive(Debug, clap::Args)]
pub struct RegistryArgs {
    /// A Docker config.json with registry credentials (auths, credHelpers, credsStore) [default:
    /// $DOCKER_CONFIG/config.json, else ~/.docker/config.json].
    #[arg(long, value_name = "FILE", env = "PROVGATE_REGISTRY_CONFIG")]
    registry_config: Option<PathBuf>,
    /// Reach this registry (HOST[:PORT]) over plain HTTP; loopback registries always are.
    /// Repeatable; also the registry configuration's "insecure-registries" list.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    insecure_registries: Vec<String>,
}

impl RegistryArgs {
    /// The registry configuration named, else `configured` (registry_config in provgate's
    /// configuration), else Docker's.
    pub fn load(&self, configured: Option<&std::path::Path>) -> anyhow::Result<RegistryConfig> {
        let mut registries = RegistryConfig::load(self.registry_config.as_deref().or(configured))?;
        for host in &self.insecure_registries {
            registries.allow_insecure(host);
        }
        Ok(registries)
    }
}
