//! Time shifting of deferrable work toward cheap hours.

use tokengrid_core::{HubId, ModelId};
use tokengrid_sched::*;

use crate::testview::*;

/// One hub: 1.0 per kWh from 08:00 to 22:00, 0.3 at night.
fn night_tariff() -> TestView {
    let mut h = hub(10.0, 1.0, 600.0);
    for (i, t) in h.tariff.iter_mut().enumerate() {
        *t = if (8..22).contains(&i) { 1.0 } else { 0.3 };
    }
    let mut v = TestView::new(vec![h]);
    v.now_s = 18.0 * 3600.0;
    v
}

fn batch(deadline_h: f64) -> Work<'static> {
    Work::Batch(BatchJob {
        model: ModelId(0),
        origin: Origin::Point {
            lat: 31.2,
            lon: 121.5,
        },
        prompt_tokens: 6000,
        output_tokens: 500,
        deadline_s: deadline_h * 3600.0,
        residency: None,
    })
}

#[test]
fn a_batch_job_waits_for_the_night_tariff() {
    let v = night_tariff();
    // Arrives at 18:00 with 12 h to go: the cheapest start is 22:00.
    let Decision::Place(p) = decide("cost-slo", &v, &batch(30.0)) else {
        panic!()
    };
    assert_eq!(p.hub, HubId(0));
    assert_eq!(p.start_s, 22.0 * 3600.0);
    // Energy: (6,000 x 0.1 + 500 x 0.5) J x 1.2 = 1,020 J; at 0.3 per kWh.
    assert!((p.cost - 1020.0 / 3.6e6 * 0.3).abs() < 1e-12);
    // Due before 22:00: it runs now.
    let Decision::Place(p) = decide("cost-slo", &v, &batch(21.0)) else {
        panic!()
    };
    assert_eq!(p.start_s, 18.0 * 3600.0);
}

#[test]
fn a_training_job_shifts_into_the_night_and_respects_its_deadline() {
    let v = night_tariff();
    let job = |deadline_h: f64| {
        Work::Training(TrainingJob {
            accelerators: 64,
            accelerator: None,
            compute_hours: 2.0,
            gradient_gb_per_step: 1.0,
            step_compute_s: 1.0,
            deadline_s: deadline_h * 3600.0,
            splittable: false,
            accelerator_w: 700.0,
        })
    };
    let Decision::Place(p) = decide("cost-slo", &v, &job(40.0)) else {
        panic!()
    };
    assert_eq!(p.start_s, 22.0 * 3600.0);
    // 64 x 0.7 kW x 1.2 = 53.76 kW for 2 h at 0.3
    assert!((p.cost - 53.76 * 2.0 * 0.3).abs() < 1e-9);
    // Deadline 23:00: must start by 21:00; 20:00-22:00 would cost 2 h at 1.0, 21:00-23:00 one
    // hour at 1.0 and one at 0.3: 21:00 is best.
    let Decision::Place(p) = decide("cost-slo", &v, &job(23.0)) else {
        panic!()
    };
    assert_eq!(p.start_s, 21.0 * 3600.0);
    // Impossible deadline: rejected for it.
    match decide("cost-slo", &v, &job(19.0)) {
        Decision::Reject(r) => assert_eq!(r, vec![(HubId(0), Reason::Deadline)]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn green_policy_shifts_toward_low_carbon_hours() {
    let mut v = night_tariff();
    // Carbon is low by day (solar) and high at night, opposite to the tariff.
    for (i, c) in v.hubs[0].carbon.iter_mut().enumerate() {
        *c = if (8..20).contains(&i) { 100.0 } else { 800.0 };
    }
    v.now_s = 2.0 * 3600.0;
    let Decision::Place(p) = decide("green", &v, &batch(20.0)) else {
        panic!()
    };
    assert_eq!(p.start_s, 8.0 * 3600.0, "waits for the clean hours");
    let Decision::Place(p) = decide("cost-slo", &v, &batch(20.0)) else {
        panic!()
    };
    assert_eq!(p.start_s, 2.0 * 3600.0, "cheap now");
}

#[test]
fn a_batch_job_takes_the_first_free_hour_of_a_flat_tariff() {
    // Flat tariff, every slot promised until 03:00: the job starts at 03:00, not refused. (An
    // hour whose price equals the previous hour's must still be tried when the previous hour
    // had no room.)
    let mut h = hub(10.0, 0.5, 600.0);
    h.busy_until_s = 3.0 * 3600.0;
    let mut v = TestView::new(vec![h]);
    v.now_s = 0.5 * 3600.0;
    let Decision::Place(p) = decide("cost-slo", &v, &batch(8.0)) else {
        panic!("refused")
    };
    assert_eq!(p.start_s, 3.0 * 3600.0);
    // Same for a training job that needs the accelerators.
    let job = Work::Training(TrainingJob {
        accelerators: 64,
        accelerator: None,
        compute_hours: 1.0,
        gradient_gb_per_step: 1.0,
        step_compute_s: 1.0,
        deadline_s: 8.0 * 3600.0,
        splittable: false,
        accelerator_w: 700.0,
    });
    let Decision::Place(p) = decide("cost-slo", &v, &job) else {
        panic!("refused")
    };
    assert_eq!(p.start_s, 3.0 * 3600.0);
}
