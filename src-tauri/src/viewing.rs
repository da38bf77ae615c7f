//! Documents opened for viewing: the viewer needs a file named `*.pdf`, so the document is
//! copied into a private temporary folder of this run (0700, a random name under
//! `$XDG_RUNTIME_DIR`, else under the system's temp folder), as a 0600 file named after
//! its order number and kind. The folder is removed when the app exits; folders left by a
//! run that did not exit cleanly (and the `<blobs>/view` folder of older versions) are
//! removed at the next start.
//!
//! A running app holds a lock on `.in-use` in its folder, so another Onsite of the same
//! user (on another data folder) never removes a folder still in use.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use onsite_domain::view::DocumentKind;
use onsite_store::private_files;

/// Folders for viewing are named `onsite-view-<random>`.
const PREFIX: &str = "onsite-view-";
/// Locked by the app that uses the folder.
const IN_USE: &str = ".in-use";

/// Where this user's folders for viewing go: `$XDG_RUNTIME_DIR` (private to the user and
/// emptied at logout) when it is set to a folder, else the system's temp folder.
pub fn base_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() && dir.is_dir() => dir,
        _ => std::env::temp_dir(),
    }
}

/// This run's folder for viewing.
#[derive(Debug)]
pub struct ViewFolder {
    dir: PathBuf,
    _in_use: File,
}

impl ViewFolder {
    /// Makes a new folder in `base` (owner-only, a name nobody can guess beforehand;
    /// created, never reused, so a folder or link planted under that name is not taken).
    pub fn create(base: &Path) -> io::Result<ViewFolder> {
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .rand_bytes(16)
            .permissions(dir_permissions())
            .tempdir_in(base)?
            .keep();
        let in_use = private_files::create_file(&dir.join(IN_USE))?;
        in_use.try_lock().map_err(io::Error::other)?;
        Ok(ViewFolder {
            dir,
            _in_use: in_use,
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Removes the folder and the copies in it (at exit).
    pub fn remove(&self) -> io::Result<()> {
        std::fs::remove_dir_all(&self.dir)
    }

    /// Removes the copies in it and keeps the folder (the device was erased: head office
    /// marked it lost). Returns how many went.
    pub fn empty(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        entries
            .flatten()
            .filter(|e| e.file_name() != IN_USE)
            .filter(|e| std::fs::remove_file(e.path()).is_ok())
            .count()
    }
}

fn dir_permissions() -> std::fs::Permissions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::Permissions::from_mode(private_files::DIR_MODE)
    }
    #[cfg(not(unix))]
    {
        // Windows: the temp folder is in the user's profile, private by its ACLs.
        std::env::temp_dir()
            .metadata()
            .map(|m| m.permissions())
            .unwrap_or_else(|_| std::fs::metadata(".").unwrap().permissions())
    }
}

/// Removes the folders for viewing in `base` that earlier runs left behind: this user's,
/// not in use by a running app, other than `keep`. Returns how many were removed.
pub fn remove_leftovers(base: &Path, keep: &ViewFolder) -> usize {
    let Ok(entries) = std::fs::read_dir(base) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(PREFIX));
        if !ours || path == keep.dir {
            continue;
        }
        // A real folder (not a link), of this user.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_dir() || !same_owner(&meta, &keep.dir) {
            continue;
        }
        let in_use = File::open(path.join(IN_USE)).is_ok_and(|f| f.try_lock().is_err());
        if !in_use && std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(unix)]
fn same_owner(meta: &std::fs::Metadata, mine: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(mine).is_ok_and(|m| m.uid() == meta.uid())
}

#[cfg(not(unix))]
fn same_owner(_meta: &std::fs::Metadata, _mine: &Path) -> bool {
    // The temp folder is the user's own (in the profile).
    true
}

/// The copies of documents opened for viewing kept beside the blobs by older versions.
pub fn remove_old_view_copies(blobs_dir: &Path) {
    let old = blobs_dir.join("view");
    if old.is_dir() {
        let _ = std::fs::remove_dir_all(old);
    }
}

/// The name of a document's copy: its order number and kind, e.g. `WO-1042 sign-off.pdf`
/// (characters a file name cannot hold are replaced).
pub fn file_name(order_no: &str, kind: DocumentKind) -> String {
    let kind = match kind {
        DocumentKind::SignOff => "sign-off",
        DocumentKind::Quote => "quote",
        DocumentKind::PaymentReceipt => "receipt",
        DocumentKind::CarryBack => "carry-back",
        DocumentKind::DayEnd => "day-end",
    };
    let order: String = order_no
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let order = order.trim_start_matches('.');
    format!("{order} {kind}.pdf")
}

/// The one place a stored document becomes a readable file for viewing: reads the blob
/// `sha256` from the sealed `blobs` (decrypted and checked against its hash there), and writes it as `name` in
/// `folder` (0600; written beside and renamed, so a viewer never sees half a file). When
/// blobs are encrypted, this is where they are decrypted.
pub fn copy_for_viewing(
    blobs: &onsite_store::Blobs,
    sha256: &str,
    folder: &Path,
    name: &str,
) -> io::Result<PathBuf> {
    let bytes = blobs.read(sha256).map_err(|e| match e {
        onsite_store::StoreError::Io { source, .. } => source,
        _ => io::Error::new(io::ErrorKind::InvalidData, "the stored document is damaged"),
    })?;
    let dest = folder.join(name);
    let tmp = folder.join(format!(".{}.tmp", uuid_like()));
    let written = (|| {
        let mut f = private_files::create_file(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &dest)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|()| dest)
}

/// A name for a temporary file no other writer in this folder uses.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn emptying_removes_the_copies_and_keeps_the_folder_in_use() {
        let base = tempfile::tempdir().unwrap();
        let folder = ViewFolder::create(base.path()).unwrap();
        std::fs::write(folder.path().join("WO-1 sign-off.pdf"), b"%PDF").unwrap();
        std::fs::write(folder.path().join("WO-2 quote.pdf"), b"%PDF").unwrap();
        assert_eq!(folder.empty(), 2);
        assert!(folder.path().is_dir());
        assert!(folder.path().join(IN_USE).exists(), "still marked in use");
        assert_eq!(folder.empty(), 0);
    }

    use super::*;

    #[test]
    fn the_folder_is_private_random_and_removed_with_its_copies() {
        let base = tempfile::tempdir().unwrap();
        let a = ViewFolder::create(base.path()).unwrap();
        let b = ViewFolder::create(base.path()).unwrap();
        assert_ne!(a.path(), b.path());
        let name = a.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with(PREFIX), "{name}");
        assert!(name.len() >= PREFIX.len() + 16, "{name}");
        let blobs =
            onsite_store::Blobs::new(base.path().join("blobs"), &onsite_store::DataKey::random());
        let sha = onsite_store::documents::put_blob(&blobs, b"%PDF-1.7 sheet").unwrap();
        let copy = copy_for_viewing(
            &blobs,
            &sha,
            a.path(),
            &file_name("WO-1042", DocumentKind::SignOff),
        )
        .unwrap();
        assert_eq!(copy.file_name().unwrap(), "WO-1042 sign-off.pdf");
        assert_eq!(std::fs::read(&copy).unwrap(), b"%PDF-1.7 sheet");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode(a.path()), 0o700);
            assert_eq!(mode(&copy), 0o600);
        }
        a.remove().unwrap();
        assert!(!copy.exists());
        assert!(!a.path().exists());
    }

    #[test]
    fn a_damaged_blob_is_not_shown() {
        let base = tempfile::tempdir().unwrap();
        let folder = ViewFolder::create(base.path()).unwrap();
        let blobs =
            onsite_store::Blobs::new(base.path().join("blobs"), &onsite_store::DataKey::random());
        let sha = onsite_store::documents::put_blob(&blobs, b"%PDF-1.7 sheet").unwrap();
        std::fs::write(blobs.path(&sha).unwrap(), b"%PDF-1.7 other").unwrap();
        let err = copy_for_viewing(&blobs, &sha, folder.path(), "x.pdf").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(!folder.path().join("x.pdf").exists());
    }

    #[test]
    fn leftovers_are_removed_at_start_but_not_a_folder_in_use_or_another_name() {
        let base = tempfile::tempdir().unwrap();
        // A run that did not exit: its folder and a copy in it, no longer locked.
        let crashed = ViewFolder::create(base.path()).unwrap();
        std::fs::write(crashed.path().join("WO-1 quote.pdf"), b"%PDF").unwrap();
        let crashed_dir = crashed.path().to_path_buf();
        drop(crashed);
        // A folder left by a run whose lock file never got made.
        let bare = base.path().join(format!("{PREFIX}bare"));
        std::fs::create_dir(&bare).unwrap();
        // Another Onsite still running (on another data folder).
        let running = ViewFolder::create(base.path()).unwrap();
        // Somebody else's things in the same temp folder.
        let other = base.path().join("not-onsite");
        std::fs::create_dir(&other).unwrap();
        let file = base.path().join(format!("{PREFIX}file"));
        std::fs::write(&file, b"x").unwrap();

        let mine = ViewFolder::create(base.path()).unwrap();
        assert_eq!(remove_leftovers(base.path(), &mine), 2);
        assert!(!crashed_dir.exists());
        assert!(!bare.exists());
        assert!(running.path().exists());
        assert!(mine.path().exists());
        assert!(other.exists());
        assert!(file.exists());
    }

    #[test]
    fn the_old_copies_beside_the_blobs_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = dir.path().join("blobs");
        std::fs::create_dir_all(blobs.join("view")).unwrap();
        std::fs::write(blobs.join("view").join("ab.pdf"), b"%PDF").unwrap();
        std::fs::write(blobs.join("ab"), b"%PDF").unwrap();
        remove_old_view_copies(&blobs);
        assert!(!blobs.join("view").exists());
        assert!(blobs.join("ab").exists());
    }

    #[test]
    fn names_hold_no_path_and_no_hidden_file() {
        assert_eq!(
            file_name("../WO 7/x", DocumentKind::Quote),
            "_WO_7_x quote.pdf"
        );
        assert_eq!(
            file_name("WO-9", DocumentKind::PaymentReceipt),
            "WO-9 receipt.pdf"
        );
    }
}
