//! The webcam for diagnosis and carry-back photos (issue 3). WebKitGTK ships with media
//! capture off and, unlike a browser, has no permission prompt: every `getUserMedia` is
//! refused unless the embedding app turns capture on and answers WebKit's
//! `permission-request`. Onsite allows exactly two kinds of request: a camera (video
//! only, never the microphone) and the list of devices (to know whether there is a camera
//! at all). Everything else keeps WebKit's default answer, no. Only Onsite's own bundled
//! UI runs in the window (CSP, no navigation), so no other page can ask.
//!
//! `ONSITE_MOCK_CAMERA=1` turns on WebKit's synthetic capture device, so that the capture
//! path is tested end to end on a machine without a camera (the E2E does).

use tauri::WebviewWindow;

#[cfg(target_os = "linux")]
pub fn allow_camera(window: &WebviewWindow) {
    use webkit2gtk::glib::prelude::{Cast, ObjectExt};
    use webkit2gtk::{
        DeviceInfoPermissionRequest, PermissionRequestExt, SettingsExt, UserMediaPermissionRequest,
        UserMediaPermissionRequestExt, WebViewExt,
    };
    let mock = std::env::var_os("ONSITE_MOCK_CAMERA").is_some_and(|v| v == "1");
    let result = window.with_webview(move |platform| {
        let view = platform.inner();
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_enable_media_stream(true);
            if mock {
                settings.set_enable_mock_capture_devices(true);
            }
        }
        view.connect_permission_request(|_, request| {
            let camera_only = request
                .downcast_ref::<UserMediaPermissionRequest>()
                .is_some_and(|r| r.is_for_video_device() && !r.is_for_audio_device());
            let device_list = request.is::<DeviceInfoPermissionRequest>();
            if camera_only || device_list {
                request.allow();
                true
            } else {
                false // WebKit's default: deny
            }
        });
    });
    if let Err(e) = result {
        // Photos from disk still work; only the webcam is unavailable.
        tracing::warn!(error = %e, "cannot set up the camera");
    }
}

#[cfg(not(target_os = "linux"))]
pub fn allow_camera(_window: &WebviewWindow) {
    // WebView2 and WKWebView ask the user themselves.
}
