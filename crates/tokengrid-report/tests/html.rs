//! The page is well-formed, holds every chart with data, and makes no external requests.

use quick_xml::Reader;
use quick_xml::events::Event;
use tokengrid_report::text::PolicySummary;
use tokengrid_report::{CHARTS, COMPARE_CHART, REPLICATION_CHARTS, html, html_replicated};

struct Page {
    /// (figure id, number of data marks inside it)
    figures: Vec<(String, usize)>,
    /// every src/href attribute value
    links: Vec<String>,
    scripts: usize,
    /// (figure id, low end, high end) of every confidence-interval whisker
    whiskers: Vec<(String, f64, f64)>,
    /// figure id of every confidence band
    bands: Vec<String>,
}

fn parse(text: &str) -> Page {
    let mut r = Reader::from_str(text);
    r.config_mut().check_end_names = true;
    let mut page = Page {
        figures: Vec::new(),
        links: Vec::new(),
        scripts: 0,
        whiskers: Vec::new(),
        bands: Vec::new(),
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
                let figure = open_figure.map(|f| page.figures[f].0.clone());
                let attr = |k: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == k.as_bytes())
                        .map(|a| String::from_utf8_lossy(&a.value).to_string())
                };
                if let (Some(f), Some(lo), Some(hi)) = (&figure, attr("data-lo"), attr("data-hi")) {
                    let num = |v: String| v.parse::<f64>().expect("a number");
                    page.whiskers.push((f.clone(), num(lo), num(hi)));
                }
                if let (Some(f), Some("band")) = (&figure, attr("class").as_deref()) {
                    page.bands.push(f.clone());
                }
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

/// Mean and 95% half-width by hand: Student's t with 2 degrees of freedom is 4.303 (NIST/SEMATECH
/// e-Handbook, table 1.3.6.7.2), on the sample standard deviation of three values.
fn by_hand(xs: [f64; 3]) -> (f64, f64) {
    let mean = (xs[0] + xs[1] + xs[2]) / 3.0;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 2.0;
    (mean, 4.303 * (var / 3.0).sqrt())
}

#[test]
fn replicated_pages_draw_every_mean_with_its_95_percent_interval() {
    let (s, runs) = crate::replicated(&["nearest", "cost-slo"], 3);
    let rows = PolicySummary::of_runs(&runs, 3);
    let text = html_replicated(&s, &rows, &runs);
    let page = parse(&text);
    let marks = |id: &str| {
        page.figures
            .iter()
            .find(|(f, _)| f == id)
            .unwrap_or_else(|| panic!("chart {id} missing; have {:?}", page.figures))
            .1
    };
    // Cost, cost vs nearest, energy, CO2, SLO met: a bar for each policy.
    assert_eq!(marks(REPLICATION_CHARTS[0]), 5 * 2);
    let whiskers: Vec<(f64, f64)> = page
        .whiskers
        .iter()
        .filter(|w| w.0 == REPLICATION_CHARTS[0])
        .map(|w| (w.1, w.2))
        .collect();
    let cost = |k: usize| [0, 1, 2].map(|i| runs[3 * k + i].energy.cost);
    let close = |got: (f64, f64), (mean, half): (f64, f64)| {
        let tol = 1e-9 * mean.abs().max(1.0);
        assert!(
            (got.0 - (mean - half)).abs() < tol && (got.1 - (mean + half)).abs() < tol,
            "{got:?} vs {mean} +- {half}"
        );
    };
    // The first chart's whiskers are the two policies' costs.
    close(whiskers[0], by_hand(cost(0)));
    close(whiskers[1], by_hand(cost(1)));
    // The next is cost-slo's cost against nearest, paired seed by seed (nearest's own
    // difference is zero, so it has no whisker).
    let (a, b) = (cost(0), cost(1));
    let paired = [0, 1, 2].map(|i| (b[i] / a[i] - 1.0) * 100.0);
    close(whiskers[2], by_hand(paired));
    // Fleet power over time: a band per policy, and the first seed's charts after it.
    assert_eq!(
        page.bands
            .iter()
            .filter(|f| *f == REPLICATION_CHARTS[1])
            .count(),
        2
    );
    assert!(marks(REPLICATION_CHARTS[1]) >= 2, "a mean line per policy");
    for chart in CHARTS {
        assert!(marks(&format!("{chart}-1")) > 0, "{chart}-1");
    }
    assert!(text.contains("&plusmn;"), "the table gives the intervals");
}

/// The page says why requests went unserved, per class and per hub, with the report's counts.
#[test]
fn unserved_requests_are_tabled_by_reason() {
    let (s, mut runs) = crate::runs();
    let r = &mut runs[0];
    r.requests.rejected = 12;
    r.unserved.rejected = [("queue_full".to_owned(), 7), ("residency".to_owned(), 5)].into();
    r.classes[0].unserved = r.unserved.rejected.clone();
    r.hubs[1].unserved = r.unserved.rejected.clone();
    let text = html(&s, &runs[..1]);
    parse(&text);
    assert!(text.contains("12 requests rejected"), "the total");
    assert!(
        text.contains("<th>queue_full</th><th>residency</th>"),
        "a column per reason"
    );
    let hub = format!(
        "<tr><td>hub {}</td><td>7</td><td>5</td></tr>",
        runs[0].hubs[1].name
    );
    assert!(text.contains(&hub), "the hub's row: {hub}");
    // Only a training job refused: said, and no empty table of requests.
    let r = &mut runs[0];
    r.unserved.rejected.clear();
    r.classes[0].unserved.clear();
    r.hubs[1].unserved.clear();
    r.unserved.jobs_rejected = [("no_capacity".to_owned(), 1)].into();
    let text = html(&s, &runs[..1]);
    assert!(text.contains("training jobs rejected: 1 for no_capacity"));
    assert!(
        !text.contains("<th>no_capacity</th>"),
        "no table of requests"
    );
    // All served: no table.
    let r = &mut runs[0];
    r.unserved.rejected.clear();
    r.unserved.failed.clear();
    r.unserved.jobs_rejected.clear();
    assert!(!html(&s, &runs[..1]).contains("Unserved:"));
}
