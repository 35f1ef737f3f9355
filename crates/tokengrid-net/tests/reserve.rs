//! Deterministic path reservations and their refusals.

use tokengrid_core::{HubId, Site};
use tokengrid_net::Topology;
use tokengrid_net::reserve::{Refusal, Request, ReservationBook};

use crate::line;

fn hub(i: u32) -> Site {
    Site::Hub(HubId(i))
}

fn req(from: Site, to: Site, gbps: f64, start_s: f64, end_s: f64) -> Request {
    Request {
        from,
        to,
        gbps,
        start_s,
        end_s,
    }
}

#[test]
fn admits_along_deterministic_links_and_refuses_when_full() {
    let s = line();
    let t = Topology::new(&s);
    let mut book = ReservationBook::new(&t);
    // a -> c must go a-b-c (the derived a-c link is not deterministic); b-c holds 50 Gb/s.
    let r1 = book
        .reserve(&t, &req(hub(0), hub(2), 30.0, 0.0, 100.0))
        .expect("admitted");
    assert_eq!(r1.links.len(), 2);
    let r2 = book
        .reserve(&t, &req(hub(0), hub(2), 20.0, 50.0, 150.0))
        .expect("fits exactly");
    // 30 + 20 = 50 on b-c during [50, 100): one more Gb/s there is refused, naming b-c and [50, 100).
    let err = book
        .reserve(&t, &req(hub(1), hub(2), 1.0, 60.0, 70.0))
        .expect_err("full");
    match &err {
        Refusal::Full {
            ends,
            from_s,
            to_s,
            reserved_gbps,
            capacity_gbps,
            ..
        } => {
            assert_eq!(ends, &("b".to_owned(), "c".to_owned()));
            assert_eq!((*from_s, *to_s), (60.0, 70.0));
            assert_eq!((*reserved_gbps, *capacity_gbps), (50.0, 50.0));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("link b - c is full"));
    // Outside the overlap there is room.
    book.reserve(&t, &req(hub(1), hub(2), 20.0, 0.0, 50.0))
        .expect("room before 50 s");
    // Releasing frees the capacity; releasing twice is harmless.
    assert!(book.release(r2.id));
    assert!(!book.release(r2.id));
    book.reserve(&t, &req(hub(1), hub(2), 20.0, 60.0, 70.0))
        .expect("room after release");
    assert_eq!(book.reserved_at(r1.links[1], 65.0), 50.0);
}

#[test]
fn no_deterministic_path_and_bad_requests() {
    let s = line();
    let t = Topology::new(&s);
    let mut book = ReservationBook::new(&t);
    assert_eq!(
        book.reserve(&t, &req(hub(0), hub(0), 1.0, 0.0, 1.0))
            .map(|_| ()),
        Err(Refusal::Invalid(
            "source and destination are the same site".into()
        ))
    );
    assert!(matches!(
        book.reserve(&t, &req(hub(0), hub(1), -1.0, 0.0, 1.0)),
        Err(Refusal::Invalid(_))
    ));
    assert!(matches!(
        book.reserve(&t, &req(hub(0), hub(1), 1.0, 5.0, 5.0)),
        Err(Refusal::Invalid(_))
    ));
    // More than a link can ever hold.
    assert!(matches!(
        book.reserve(&t, &req(hub(0), hub(1), 101.0, 0.0, 1.0)),
        Err(Refusal::Full { .. })
    ));
}

#[test]
fn no_path_of_deterministic_links() {
    let text = crate::LINE.replace(
        "deterministic = true\nreservable_gbps = 50.0",
        "deterministic = false",
    );
    let s = tokengrid_core::load_str(&text, "x.toml", None).expect("valid");
    let t = Topology::new(&s);
    let mut book = ReservationBook::new(&t);
    assert_eq!(
        book.reserve(&t, &req(hub(0), hub(2), 1.0, 0.0, 1.0))
            .map(|_| ()),
        Err(Refusal::NoDeterministicPath)
    );
}
