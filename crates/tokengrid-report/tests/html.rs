//! The page is well-formed, holds every chart with data, and makes no external requests.

use quick_xml::Reader;
use quick_xml::events::Event;
use tokengrid_report::{CHARTS, COMPARE_CHART, html};

struct Page {
    /// (figure id, number of data marks inside it)
    figures: Vec<(String, usize)>,
    /// every src/href attribute value
    links: Vec<String>,
    scripts: usize,
}

fn parse(text: &str) -> Page {
    let mut r = Reader::from_str(text);
    r.config_mut().check_end_names = true;
    let mut page = Page {
        figures: Vec::new(),
        links: Vec::new(),
        scripts: 0,
    };
    let mut open_figure: Option<usize> = None;
    loop {
        match r
            .read_event()
            .unwrap_or_else(|e| panic!("HTML is not well-formed at {}: {e}", r.buffer_position()))
        {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).to_string();
                for a in e.attributes().flatten() {
                    let key = String::from_utf8_lossy(a.key.as_ref()).to_string();
                    let value = String::from_utf8_lossy(&a.value).to_string();
                    if key == "src" || key == "href" {
                        page.links.push(value.clone());
                    }
                    if name == "figure" && key == "id" {
                        page.figures.push((value.clone(), 0));
                        open_figure = Some(page.figures.len() - 1);
                    }
                    if key == "class"
                        && value.split(' ').any(|c| c == "series")
                        && let Some(f) = open_figure
                    {
                        page.figures[f].1 += 1;
                    }
                }
                if name == "script" {
                    page.scripts += 1;
                }
            }
            Event::End(e) if e.name().as_ref() == b"figure" => open_figure = None,
            _ => {}
        }
    }
    page
}

#[test]
fn every_chart_is_present_with_data_and_nothing_is_fetched() {
    let (s, runs) = crate::runs();
    let text = html(&s, &runs);
    assert!(text.starts_with("<!DOCTYPE html>"));
    let page = parse(&text);
    for i in 0..runs.len() {
        for chart in CHARTS {
            let id = format!("{chart}-{i}");
            let (_, marks) = page
                .figures
                .iter()
                .find(|(f, _)| *f == id)
                .unwrap_or_else(|| panic!("chart {id} missing; have {:?}", page.figures));
            assert!(*marks > 0, "chart {id} has no data");
        }
    }
    let compare = page
        .figures
        .iter()
        .find(|(f, _)| f == COMPARE_CHART)
        .expect("compare chart");
    assert_eq!(compare.1, 3 * runs.len(), "one bar per policy per metric");
    assert_eq!(page.scripts, 0);
    for link in &page.links {
        assert!(
            !link.contains("http:") && !link.contains("https:") && !link.starts_with("//"),
            "external request: {link}"
        );
    }
    assert!(
        !text.contains("http://") && !text.contains("https://"),
        "no URL anywhere"
    );
}

#[test]
fn names_are_escaped() {
    let (mut s, runs) = crate::runs();
    s.name = "a <b> & \"c\"".into();
    let text = html(&s, &runs);
    assert!(text.contains("a &lt;b&gt; &amp; &quot;c&quot;"));
    parse(&text);
}
