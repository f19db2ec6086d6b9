//! The `.vspd` container: a plain tar archive written the same way every
//! time (sorted entries, no owners, no times), read defensively: only
//! regular files with plain relative names, each named once, none larger
//! than the limits, all held in memory until every digest checked out.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path};

use super::BundleError;

/// Largest part of a bundle, and largest bundle, in bytes.
pub const MAX_PART: u64 = 256 << 20;
pub const MAX_TOTAL: u64 = 1 << 30;

/// A bundle's entries by name, in memory.
pub type Entries = BTreeMap<String, Vec<u8>>;

/// A reader's error in a line fit for a terminal: the tar reader quotes
/// the bytes it could not read, which may be anything.
fn malformed(err: std::io::Error) -> BundleError {
    let text: String = err.to_string().chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(120).collect();
    BundleError::Malformed(text)
}

/// Reads every entry of the archive in `bytes`, refusing anything but
/// regular files with safe names.
pub fn read(bytes: &[u8]) -> Result<Entries, BundleError> {
    let mut archive = tar::Archive::new(bytes);
    let mut entries = Entries::new();
    let mut total = 0u64;
    let iter = archive.entries().map_err(malformed)?;
    for entry in iter {
        let mut entry = entry.map_err(malformed)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            return Err(BundleError::Unsafe { name: raw, why: format!("is a {kind:?}, not a regular file") });
        }
        let name = safe_name(&raw)?;
        let size = entry.header().size().map_err(malformed)?;
        if size > MAX_PART {
            return Err(BundleError::Unsafe { name, why: format!("is {size} bytes, more than {MAX_PART}") });
        }
        total += size;
        if total > MAX_TOTAL {
            return Err(BundleError::Unsafe { name, why: format!("takes the bundle past {MAX_TOTAL} bytes") });
        }
        let mut data = Vec::with_capacity(size as usize);
        entry.by_ref().take(size).read_to_end(&mut data).map_err(malformed)?;
        if entries.insert(name.clone(), data).is_some() {
            return Err(BundleError::Unsafe { name, why: "appears twice".into() });
        }
    }
    Ok(entries)
}

/// `name` if it is a plain relative path: no root, no `..`, no `.`, no
/// empty or backslashed part.
fn safe_name(name: &str) -> Result<String, BundleError> {
    let refuse = |why: &str| BundleError::Unsafe { name: name.to_string(), why: why.to_string() };
    if name.is_empty() || name.contains('\\') || name.contains('\0') {
        return Err(refuse("is not a plain relative path"));
    }
    for component in Path::new(name).components() {
        match component {
            Component::Normal(_) => {}
            Component::ParentDir => return Err(refuse("leads out of the bundle (..)")),
            Component::RootDir | Component::Prefix(_) => return Err(refuse("is an absolute path")),
            Component::CurDir => return Err(refuse("is not a plain relative path")),
        }
    }
    if name.split('/').any(str::is_empty) {
        return Err(refuse("is not a plain relative path"));
    }
    Ok(name.to_string())
}

/// The archive of `entries`, in the order given: the same bytes for the
/// same entries.
pub fn write(entries: &[(String, Vec<u8>)]) -> Result<Vec<u8>, BundleError> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, data.as_slice()).map_err(malformed)?;
    }
    builder.into_inner().map_err(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An archive with one entry written raw, as a hostile tool would.
    fn raw(name: &[u8], kind: tar::EntryType, data: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name);
        header.set_size(data.len() as u64);
        header.set_entry_type(kind);
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append(&header, data).unwrap();
        builder.into_inner().unwrap()
    }

    #[test]
    fn written_archives_read_back_the_same() {
        let entries = vec![("manifest.toml".to_string(), b"a".to_vec()), ("data/u.csv".into(), b"x\n1\n".to_vec())];
        let bytes = write(&entries).unwrap();
        assert_eq!(write(&entries).unwrap(), bytes, "the same bytes every time");
        let read = read(&bytes).unwrap();
        assert_eq!(read.into_iter().collect::<Vec<_>>(), {
            let mut sorted = entries.clone();
            sorted.sort();
            sorted
        });
    }

    #[test]
    fn malicious_entries_are_refused_naming_them() {
        for (name, kind, why) in [
            (&b"../evil"[..], tar::EntryType::Regular, "leads out of the bundle"),
            (b"/etc/passwd", tar::EntryType::Regular, "absolute path"),
            (b"a//b", tar::EntryType::Regular, "not a plain relative path"),
            (b"link", tar::EntryType::Symlink, "not a regular file"),
            (b"hard", tar::EntryType::Link, "not a regular file"),
            (b"dir", tar::EntryType::Directory, "not a regular file"),
        ] {
            let err = read(&raw(name, kind, b"x")).unwrap_err().to_string();
            assert!(err.contains(why), "{}: {err}", String::from_utf8_lossy(name));
        }
        let twice = [raw(b"a", tar::EntryType::Regular, b"1"), raw(b"a", tar::EntryType::Regular, b"2")];
        // Two archives back to back read as one with the end marker skipped.
        let mut bytes = twice[0][..512 + 512].to_vec();
        bytes.extend_from_slice(&twice[1]);
        assert!(read(&bytes).unwrap_err().to_string().contains("appears twice"));
        assert!(read(b"not a tar archive at all, just text that is long enough").is_err());
    }
}
