//! End to end in a real headless browser (Debian's chromium, installed by .ci/run): load
//! report.html, take a screenshot, check the page rendered. Without a browser the test says so
//! loudly and passes, unless TOKENGRID_REQUIRE_BROWSER=1 (set by CI).

use std::path::PathBuf;
use std::process::Command;

fn browser() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|b| {
            let out = Command::new("which").arg(b).output().ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_owned()))
        })
}

fn headless(bin: &PathBuf, dir: &std::path::Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", dir.join("profile").display()));
    c
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let Some(bin) = browser() else {
        if std::env::var("TOKENGRID_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("no chromium found, and TOKENGRID_REQUIRE_BROWSER=1");
        }
        eprintln!("SKIPPED: no headless browser (install Debian's chromium to run this test)");
        return;
    };
    let (s, runs) = crate::runs();
    let dir = std::env::temp_dir().join(format!("tokengrid-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let page = dir.join("report.html");
    std::fs::write(&page, tokengrid_report::html(&s, &runs)).expect("write");
    let url = format!("file://{}", page.display());

    // The DOM the browser built: every chart's SVG is there.
    let dom = headless(&bin, &dir)
        .args(["--dump-dom", &url])
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&dom.stdout);
    let svgs = dom.matches("<svg").count();
    assert!(svgs >= 10, "chromium built {svgs} svg elements");

    // A screenshot at 1280 px: not blank, with plenty of coloured pixels (charts drawn).
    let shot = dir.join("shot.png");
    let status = headless(&bin, &dir)
        .arg(format!("--screenshot={}", shot.display()))
        .args(["--window-size=1280,2000", &url])
        .output()
        .expect("run chromium");
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("png"),
    ));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!(info.width, 1280);
    let bytes = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = bytes.chunks(channels).collect();
    let white = pixels
        .iter()
        .filter(|p| p.iter().take(3).all(|&c| c > 245))
        .count();
    let coloured = pixels
        .iter()
        .filter(|p| {
            let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
            (r - g).abs() > 40 || (g - b).abs() > 40 || (r - b).abs() > 40
        })
        .count();
    println!(
        "screenshot {}x{}: {:.1}% white, {:.2}% coloured pixels, {svgs} svg elements",
        info.width,
        info.height,
        white as f64 / pixels.len() as f64 * 100.0,
        coloured as f64 / pixels.len() as f64 * 100.0
    );
    assert!(white < pixels.len(), "blank page");
    assert!(
        coloured as f64 > 0.005 * pixels.len() as f64,
        "charts drawn in colour"
    );
}
