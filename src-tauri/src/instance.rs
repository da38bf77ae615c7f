//! One Onsite per data file. The first instance holds the file's lock and listens on a
//! Unix socket in the data folder; a second one that finds the file locked asks the first
//! to show its window, then exits instead of opening the database twice.

use std::path::{Path, PathBuf};

fn socket_path(dir: &Path) -> PathBuf {
    dir.join("onsite.sock")
}

#[cfg(unix)]
pub fn listen(dir: &Path, app: tauri::AppHandle) {
    use std::io::Read;
    use std::os::unix::net::UnixListener;
    use tauri::Manager;

    let path = socket_path(dir);
    // We hold the data file's lock, so a socket file left here is stale.
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "single-instance socket unavailable");
            return;
        }
    };
    // Like everything in the data folder: the owner's only (bind follows the umask).
    {
        use std::os::unix::fs::PermissionsExt;
        let private = std::fs::Permissions::from_mode(onsite_store::private_files::FILE_MODE);
        if let Err(e) = std::fs::set_permissions(&path, private) {
            tracing::warn!(error = %e, "cannot make the single-instance socket private");
        }
    }
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut buf = [0u8; 16];
            let mut stream = stream;
            if stream.read(&mut buf).is_ok() && buf.starts_with(b"focus") {
                if let Some(window) = app.get_webview_window("main") {
                    let _ = window.unminimize();
                    let _ = window.show();
                    let _ = window.set_focus();
                }
            }
        }
    });
}

/// True when a running instance took the request.
#[cfg(unix)]
pub fn hand_over(dir: &Path) -> bool {
    use std::io::Write;
    match std::os::unix::net::UnixStream::connect(socket_path(dir)) {
        Ok(mut s) => s.write_all(b"focus").is_ok(),
        Err(_) => false,
    }
}

#[cfg(not(unix))]
pub fn listen(_dir: &Path, _app: tauri::AppHandle) {}

#[cfg(not(unix))]
pub fn hand_over(_dir: &Path) -> bool {
    false
}
