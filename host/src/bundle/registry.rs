//! Bundles in an OCI registry, as WebAssembly OCI artifacts: config media
//! type `application/vnd.wasm.config.v0+json`, the plugin as the first
//! layer (`application/wasm` for a component), and the whole bundle
//! (manifest, data, seal) as a second layer. References are
//! `oci://host:port/team/name:tag` or `…@sha256:<hex>`; a loopback registry
//! is spoken to over HTTP, any other over HTTPS; credentials come from the
//! docker config file (`~/.docker/config.json`, its helpers included).
//! Pulled bundles are cached by manifest digest.

use std::path::{Path, PathBuf};

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::{Bundle, BundleError};

/// The scheme of a registry reference.
pub const SCHEME: &str = "oci://";
const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
const BUNDLE_LAYER: &str = "application/vnd.vespid.bundle.v1.tar";

pub fn is_reference(text: &str) -> bool {
    text.starts_with(SCHEME)
}

/// `oci://host[:port]/path:tag` or `…@sha256:…`; the registry is always
/// named (nothing defaults to Docker Hub).
fn parse(text: &str) -> Result<Reference, BundleError> {
    let invalid = |why: String| BundleError::Registry(format!("{text}: not a registry reference ({why})"));
    let bare = text.strip_prefix(SCHEME).ok_or_else(|| invalid(format!("it starts with {SCHEME}host:port/")))?;
    let named = bare.split_once('/').is_some_and(|(host, _)| host.contains(['.', ':']) || host == "localhost");
    if !named {
        return Err(invalid("name its registry: oci://host:port/team/name:tag".into()));
    }
    bare.parse::<Reference>().map_err(|e| invalid(e.to_string()))
}

fn client(reference: &Reference) -> Client {
    let host = reference.resolve_registry().to_string();
    let name = host.rsplit_once(':').map_or(host.as_str(), |(name, _)| name);
    let loopback = name == "localhost"
        || name.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let protocol = if loopback { ClientProtocol::Http } else { ClientProtocol::Https };
    Client::new(ClientConfig { protocol, ..ClientConfig::default() })
}

/// The docker config's credentials for the registry, else anonymous.
fn auth(reference: &Reference) -> RegistryAuth {
    match docker_credential::get_credential(reference.resolve_registry()) {
        Ok(docker_credential::DockerCredential::UsernamePassword(user, password)) => {
            RegistryAuth::Basic(user, password)
        }
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => RegistryAuth::Bearer(token),
        Err(_) => RegistryAuth::Anonymous,
    }
}

fn registry_error(reference: &str, err: impl std::fmt::Display) -> BundleError {
    BundleError::Registry(format!("{reference}: {err}"))
}

/// Pushes `bundle` to `reference`; returns the pushed manifest's URL.
pub async fn push(bundle: &Bundle, reference: &str) -> Result<String, BundleError> {
    let parsed = parse(reference)?;
    let plugin = bundle.entries.get(&bundle.manifest.plugin).cloned().unwrap_or_default();
    let plugin_type = match Path::new(&bundle.manifest.plugin).extension().and_then(|e| e.to_str()) {
        Some("js") => "text/javascript",
        Some("py") => "text/x-python",
        _ => "application/wasm",
    };
    let layers = vec![
        ImageLayer::new(plugin, plugin_type.to_string(), None),
        ImageLayer::new(bundle.bytes()?, BUNDLE_LAYER.to_string(), None),
    ];
    let config = serde_json::json!({
        "architecture": "wasm",
        "os": "wasip2",
        "layerDigests": layers.iter().map(ImageLayer::sha256_digest).collect::<Vec<_>>(),
        "component": { "target": bundle.manifest.world },
        "vespid": { "name": bundle.manifest.name, "version": bundle.manifest.version },
    });
    let config = Config::new(config.to_string().into_bytes(), WASM_CONFIG.to_string(), None);
    let pushed = client(&parsed)
        .push(&parsed, &layers, config, &auth(&parsed), None)
        .await
        .map_err(|e| registry_error(reference, e))?;
    Ok(pushed.manifest_url)
}

/// Pulls `reference` into the cache (once per manifest digest) and returns
/// the bundle file, checked like any bundle; its plugin layer must be the
/// bundle's plugin.
pub async fn pull(reference: &str, cache: &Path) -> Result<PathBuf, BundleError> {
    let parsed = parse(reference)?;
    if let Some(digest) = parsed.digest()
        && let Some(path) = cached(cache, digest)
    {
        return Ok(path);
    }
    let accepted = vec![BUNDLE_LAYER, "application/wasm", "text/javascript", "text/x-python"];
    let image =
        client(&parsed).pull(&parsed, &auth(&parsed), accepted).await.map_err(|e| registry_error(reference, e))?;
    let layer = image.layers.iter().find(|l| l.media_type == BUNDLE_LAYER);
    let layer = layer.ok_or_else(|| registry_error(reference, "no vespid bundle layer: not a bundle"))?;
    let bundle = Bundle::from_bytes(&layer.data)?;
    let plugin = bundle.entries.get(&bundle.manifest.plugin);
    if !image.layers.iter().any(|l| l.media_type != BUNDLE_LAYER && Some(&l.data) == plugin) {
        return Err(registry_error(reference, "the plugin layer is not the bundle's plugin"));
    }
    let digest = image.digest.unwrap_or_else(|| bundle.digest.clone());
    let path = cache_path(cache, &digest);
    std::fs::create_dir_all(cache)
        .map_err(|e| BundleError::Read { path: cache.to_path_buf(), message: e.to_string() })?;
    std::fs::write(&path, &layer.data).map_err(|e| BundleError::Read { path: path.clone(), message: e.to_string() })?;
    Ok(path)
}

fn cache_path(cache: &Path, digest: &str) -> PathBuf {
    cache.join(format!("{}.{}", digest.replace(':', "-"), super::EXTENSION))
}

/// A bundle pulled before by this manifest digest, if it still checks out.
fn cached(cache: &Path, digest: &str) -> Option<PathBuf> {
    let path = cache_path(cache, digest);
    Bundle::open(&path).ok().map(|_| path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_name_their_registry_and_never_default_to_docker_hub() {
        let tagged = parse("oci://127.0.0.1:5000/team/hello:1.2.0").unwrap();
        assert_eq!(
            (tagged.registry(), tagged.repository(), tagged.tag()),
            ("127.0.0.1:5000", "team/hello", Some("1.2.0"))
        );
        let pinned = format!("oci://localhost/team/hello@sha256:{}", "a".repeat(64));
        assert!(parse(&pinned).unwrap().digest().is_some());
        for text in ["team/hello:1", "oci://team/hello:1", "oci://hello", "https://127.0.0.1:5000/team/hello:1"] {
            assert!(parse(text).is_err(), "{text}");
        }
    }
}
