//! Figures as pictures: an SVG the benchmarks draw, rendered to PNG by the
//! headless browser the browser tests use, so a reader sees the chart
//! without a viewer of their own.

use std::path::Path;

/// Draws `svg` into `png`, `width` × `height` pixels, when Chromium is
/// installed (`make prereqs` installs it); the reason otherwise.
pub fn render_png(svg: &Path, png: &Path, width: u32, height: u32) -> Result<(), String> {
    let browser = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .ok_or("chromium is not installed")?;
    let status = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--hide-scrollbars",
            &format!("--window-size={width},{height}"),
            &format!("--screenshot={}", png.display()),
            &format!("file://{}", svg.display()),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() && png.exists() {
        Ok(())
    } else {
        Err(format!("chromium exited with {status}"))
    }
}

/// Escapes text for an SVG element.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
