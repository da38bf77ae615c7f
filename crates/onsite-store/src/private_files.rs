//! Files only the technician's own account may read: folders 0700, files 0600.
//!
//! Everything the app writes under its data folder (the database and its `-wal`/`-shm`,
//! the lock file, the blobs, set-aside databases) is created with these modes from the
//! start, so there is no moment when it is readable by other accounts on the computer, and
//! [`tighten`] brings a folder made by an older version to the same modes at start.
//!
//! Unix only. On Windows nothing is changed here: the data folder lives in the user's
//! profile (`%APPDATA%`), whose ACLs already give access to that user (and the
//! administrators and SYSTEM) only, and files created in it inherit those ACLs.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Mode of the folders the app keeps data in.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the files the app keeps data in.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) readable by its owner only; an existing folder is
/// left as it is (see [`tighten`] for the app's own folder).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(dir)
}

/// Options that create a file readable and writable by its owner only (the mode applies
/// when the file is created; an existing file keeps its own).
pub fn open_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options
}

/// Creates (or truncates) `path` for writing, owner-only when it is new.
pub fn create_file(path: &Path) -> io::Result<File> {
    open_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

/// Brings `dir` and everything under it to owner-only modes: folders 0700, files (and
/// sockets) 0600. Symbolic links are not followed. Creates `dir` when it is missing.
/// Only what is wrong is changed, so a tight folder costs one `stat` per entry.
pub fn tighten(dir: &Path) -> io::Result<()> {
    create_dir(dir)?;
    #[cfg(unix)]
    tighten_unix(dir, true)?;
    Ok(())
}

#[cfg(unix)]
fn tighten_unix(path: &Path, is_dir: bool) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let want = if is_dir { DIR_MODE } else { FILE_MODE };
    let meta = std::fs::symlink_metadata(path)?;
    if meta.permissions().mode() & 0o7777 != want {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(want))?;
    }
    if is_dir {
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_symlink() {
                continue;
            }
            tighten_unix(&entry.path(), kind.is_dir())?;
        }
    }
    Ok(())
}

/// Folders and files under `dir` (itself included) that other accounts could read or
/// enter, with their modes: empty when the folder is private. Unix only (empty elsewhere).
pub fn too_open(dir: &Path) -> Vec<(std::path::PathBuf, u32)> {
    let mut found = Vec::new();
    #[cfg(unix)]
    collect_open(dir, &mut found);
    found
}

#[cfg(unix)]
fn collect_open(path: &Path, found: &mut Vec<(std::path::PathBuf, u32)>) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if meta.file_type().is_symlink() {
        return;
    }
    let mode = meta.permissions().mode() & 0o7777;
    let want = if meta.is_dir() { DIR_MODE } else { FILE_MODE };
    if mode != want {
        found.push((path.to_path_buf(), mode));
    }
    if meta.is_dir() {
        if let Ok(entries) = std::fs::read_dir(path) {
            for e in entries.flatten() {
                collect_open(&e.path(), found);
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn new_folders_and_files_are_owner_only_whatever_the_umask_allows() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a").join("b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        let file = dir.join("f");
        create_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert!(too_open(tmp.path().join("a").as_path()).is_empty());
    }

    #[test]
    fn an_older_folder_is_tightened_and_links_are_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(data.join("blobs").join("view")).unwrap();
        std::fs::write(data.join("onsite.db"), b"x").unwrap();
        std::fs::write(data.join("blobs").join("ab"), b"x").unwrap();
        std::fs::write(data.join("blobs").join("view").join("ab.pdf"), b"x").unwrap();
        let outside = tmp.path().join("outside");
        std::fs::write(&outside, b"x").unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&outside, data.join("link")).unwrap();
        for p in [
            data.clone(),
            data.join("blobs"),
            data.join("blobs").join("view"),
        ] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for p in [
            data.join("onsite.db"),
            data.join("blobs").join("ab"),
            data.join("blobs").join("view").join("ab.pdf"),
        ] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        assert_eq!(too_open(&data).len(), 6);
        tighten(&data).unwrap();
        assert_eq!(too_open(&data), vec![]);
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("blobs").join("ab")), 0o600);
        // The link's target outside the folder keeps its mode.
        assert_eq!(mode(&outside), 0o644);
    }

    #[test]
    fn tighten_makes_a_missing_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("new");
        tighten(&data).unwrap();
        assert_eq!(mode(&data), 0o700);
    }
}
