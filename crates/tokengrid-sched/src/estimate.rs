//! Per-hub estimates for a unit of work, and time shifting of deferrable work.

use tokengrid_core::{HubId, ModelId};

use tokengrid_energy::JOULES_PER_KWH;

use crate::plugin::Candidate;
use crate::view::{ClusterView, HubSnapshot, ModelSnapshot, Origin};
use crate::work::{BatchJob, HubSet, InferenceRequest, TrainingJob, Work};

/// What time shifting minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// Electricity cost.
    Cost,
    /// CO2.
    Carbon,
}

/// How far ahead forecasts reach, s.
pub const HORIZON_S: f64 = 48.0 * 3600.0;

/// A candidate with nothing estimated yet: hub `hub` as `snap` shows it at `now`.
pub(crate) fn blank(hub: HubId, snap: HubSnapshot, now: f64) -> Candidate {
    Candidate {
        hub,
        snap,
        model: None,
        allowed: true,
        rtt_ms: 0.0,
        ttft_ms: 0.0,
        e2e_ms: 0.0,
        energy_kwh: 0.0,
        cost: 0.0,
        carbon_kg: 0.0,
        extra_kw: 0.0,
        start_s: now,
        end_s: now,
        capacity_ok: true,
        deadline_ok: true,
    }
}

/// The hub as estimated for `work`. Deferrable work is given its best start time under
/// `objective`.
pub fn candidate<V: ClusterView + ?Sized>(
    view: &V,
    work: &Work<'_>,
    h: HubId,
    objective: Objective,
) -> Candidate {
    let now = view.now_s();
    let mut c = blank(h, view.hub(h), now);
    fill(view, work, h, objective, now, &mut c);
    c
}

/// [`candidate`] written into `c` (every field), so a scheduler keeps its candidates in place
/// instead of copying each one.
pub fn estimate_into<V: ClusterView + ?Sized>(
    view: &V,
    work: &Work<'_>,
    h: HubId,
    objective: Objective,
    c: &mut Candidate,
) {
    let now = view.now_s();
    *c = blank(h, view.hub(h), now);
    fill(view, work, h, objective, now, c);
}

/// [`estimate_into`] for every hub, `cands[i]` for hub `i`: the work's kind matched once, not
/// per hub.
pub(crate) fn estimate_all<V: ClusterView + ?Sized>(
    view: &V,
    work: &Work<'_>,
    objective: Objective,
    cands: &mut [Candidate],
) {
    let now = view.now_s();
    match work {
        Work::Inference(r) => {
            for (i, c) in cands.iter_mut().enumerate() {
                let h = HubId(i as u32);
                *c = blank(h, view.hub(h), now);
                inference(view, r, h, c);
            }
        }
        _ => {
            for (i, c) in cands.iter_mut().enumerate() {
                estimate_into(view, work, HubId(i as u32), objective, c);
            }
        }
    }
}

/// Estimates the blank candidate `c` of hub `h` for `work`.
fn fill<V: ClusterView + ?Sized>(
    view: &V,
    work: &Work<'_>,
    h: HubId,
    objective: Objective,
    now: f64,
    c: &mut Candidate,
) {
    match work {
        Work::Inference(r) => inference(view, r, h, c),
        Work::Batch(b) => batch(view, b, h, now, objective, c),
        Work::Training(t) => training(view, t, h, now, objective, c),
    }
}

/// Prefill time, decode time (s) and facility energy (kWh) of a request of `prompt` and
/// `output` tokens served as `m` describes, at a hub of power usage effectiveness `pue`. Every
/// estimate of inference and batch work uses it.
pub fn service(m: &ModelSnapshot, prompt: u32, output: u32, pue: f64) -> (f64, f64, f64) {
    let prefill_s = f64::from(prompt) / m.prefill_tokens_per_s;
    let decode_s = f64::from(output) * m.decode_s_per_token;
    let kwh = facility_kwh(m, u64::from(prompt), u64::from(output), pue);
    (prefill_s, decode_s, kwh)
}

/// Facility energy of serving `prompt` and `output` tokens as `m` describes, at a hub of power
/// usage effectiveness `pue`, kWh. The estimates above and the live dispatcher's accounting of
/// each answered request both use it.
pub fn facility_kwh(m: &ModelSnapshot, prompt: u64, output: u64, pue: f64) -> f64 {
    let it_j =
        prompt as f64 * m.joules_per_prompt_token + output as f64 * m.joules_per_output_token;
    it_j * pue * (1.0 / JOULES_PER_KWH)
}

/// What inference and batch work share: where it comes from, where its data may go, the model
/// and its tokens.
struct Served<'a> {
    origin: Origin,
    residency: Option<&'a HubSet>,
    model: ModelId,
    prompt: u32,
    output: u32,
}

/// Fills in what serving `r` at hub `h` needs (residency, round trip, the model's figures) and
/// returns its prefill and decode time and facility energy; `None` when `h` does not serve the
/// model.
#[inline(always)]
fn served_at<V: ClusterView + ?Sized>(
    c: &mut Candidate,
    view: &V,
    r: &Served<'_>,
    h: HubId,
) -> Option<(f64, f64, f64)> {
    c.allowed = r.residency.is_none_or(|set| set.contains(h));
    c.rtt_ms = view.rtt_ms(r.origin, h);
    c.model = view.model(h, r.model);
    let m = c.model.as_ref()?;
    Some(service(m, r.prompt, r.output, c.snap.pue))
}

fn inference<V: ClusterView + ?Sized>(
    view: &V,
    r: &InferenceRequest<'_>,
    h: HubId,
    c: &mut Candidate,
) {
    let req = Served {
        origin: r.origin,
        residency: r.residency,
        model: r.model,
        prompt: r.prompt_tokens,
        output: r.output_tokens,
    };
    let Some((prefill_s, decode_s, kwh)) = served_at(c, view, &req, h) else {
        return;
    };
    // A blank candidate starts now.
    let (snap, now) = (c.snap, c.start_s);
    let Some(m) = c.model.as_ref() else { return };
    let (expected_wait_s, free_slots, marginal_kw) =
        (m.expected_wait_s, m.free_slots, m.marginal_kw);
    c.ttft_ms = c.rtt_ms + (expected_wait_s + prefill_s) * 1e3;
    c.e2e_ms = c.ttft_ms + decode_s * 1e3;
    c.energy_kwh = kwh;
    // Green surplus covers up to surplus x busy time of the request's energy; the grid the
    // rest. (The same as energy x (1 - min(1, surplus / power)), without the divisions this
    // path runs for every hub on every decision.)
    let busy_s = (prefill_s + decode_s).max(1e-3);
    let green_kwh = snap.green_surplus_kw.max(0.0) * busy_s * (1.0 / 3600.0);
    let grid_kwh = (c.energy_kwh - green_kwh).max(0.0);
    c.cost = grid_kwh * snap.tariff_now;
    c.carbon_kg = grid_kwh * snap.carbon_g_per_kwh_now * 1e-3;
    c.extra_kw = if free_slots == 0 {
        0.0
    } else {
        marginal_kw * snap.pue
    };
    c.end_s = now + c.e2e_ms * 1e-3;
}

/// Cost and carbon of drawing `facility_kw` at hub `h` over `[start, end)`, from forecasts.
pub fn window_cost<V: ClusterView + ?Sized>(
    view: &V,
    h: HubId,
    facility_kw: f64,
    start: f64,
    end: f64,
) -> (f64, f64) {
    let (mut cost, mut carbon) = (0.0, 0.0);
    let mut t = start;
    while t < end {
        let f = view.forecast(h, t);
        let seg_end = if f.until_s > t {
            f.until_s.min(end)
        } else {
            end
        };
        let hours = (seg_end - t) / 3600.0;
        let grid_kw = (facility_kw - f.green_surplus_kw).max(0.0);
        cost += grid_kw * hours * f.tariff;
        carbon += grid_kw * hours * f.carbon_g_per_kwh / 1000.0;
        t = seg_end;
    }
    (cost, carbon)
}

/// A run to place in time: it draws `facility_kw` for `duration_s` and must start in
/// `[now, latest]`.
struct Run {
    now: f64,
    latest: f64,
    duration_s: f64,
    facility_kw: f64,
}

/// The start that minimises `objective` for `run`, trying now and every forecast boundary up to
/// `latest` (within the forecast horizon), among starts where `fits(start, end)`; ties go to
/// the earliest. Returns (start, cost, carbon).
fn best_start<V: ClusterView + ?Sized>(
    view: &V,
    h: HubId,
    run: &Run,
    objective: Objective,
    fits: impl Fn(f64, f64) -> bool,
) -> Option<(f64, f64, f64)> {
    let Run {
        now,
        latest,
        duration_s,
        facility_kw,
    } = *run;
    let limit = latest.min(now + HORIZON_S);
    let mut best: Option<(f64, f64, f64, f64)> = None;
    // The forecast at the previous start, and whether that start was settled: it fit, or it
    // could not beat the best so far.
    let mut last: Option<(crate::view::Forecast, bool)> = None;
    let mut s = now;
    while s <= limit {
        let f = view.forecast(h, s);
        let next = if f.until_s > s {
            f.until_s
        } else {
            f64::INFINITY
        };
        let within = s + duration_s <= f.until_s;
        // A run inside one forecast period costs the same as at the previous start when the
        // forecast has not changed: when that start was settled, this one cannot do better
        // (ties go to the earliest).
        let same = last.is_some_and(|(l, settled)| {
            settled
                && l.tariff == f.tariff
                && l.green_surplus_kw == f.green_surplus_kw
                && l.carbon_g_per_kwh == f.carbon_g_per_kwh
        });
        if same && within {
            s = next;
            continue;
        }
        let (cost, carbon) = if within {
            let grid_kwh = (facility_kw - f.green_surplus_kw).max(0.0) * duration_s / 3600.0;
            (grid_kwh * f.tariff, grid_kwh * f.carbon_g_per_kwh / 1000.0)
        } else {
            window_cost(view, h, facility_kw, s, s + duration_s)
        };
        let key = match objective {
            Objective::Cost => cost,
            Objective::Carbon => carbon,
        };
        // Capacity is checked only for a start that would be the new best.
        let improves = best.is_none_or(|b| key < b.0 - 1e-12);
        let fit = improves && fits(s, s + duration_s);
        if fit {
            best = Some((key, s, cost, carbon));
        }
        last = Some((f, fit || !improves));
        s = next;
    }
    best.map(|(_, s, cost, carbon)| (s, cost, carbon))
}

fn batch<V: ClusterView + ?Sized>(
    view: &V,
    b: &BatchJob<'_>,
    h: HubId,
    now: f64,
    objective: Objective,
    c: &mut Candidate,
) {
    let req = Served {
        origin: b.origin,
        residency: b.residency,
        model: b.model,
        prompt: b.prompt_tokens,
        output: b.output_tokens,
    };
    let Some((prefill_s, decode_s, kwh)) = served_at(c, view, &req, h) else {
        return;
    };
    let duration = prefill_s + decode_s + c.rtt_ms / 1e3;
    c.energy_kwh = kwh;
    let facility_kw = c.energy_kwh * 3600.0 / duration.max(1e-3);
    let run = Run {
        now,
        latest: b.deadline_s - duration,
        duration_s: duration,
        facility_kw,
    };
    place_in_time(c, view, h, &run, objective, |s, e| {
        view.free_slots_at(h, b.model, s, e) > 0
    });
}

fn training<V: ClusterView + ?Sized>(
    view: &V,
    t: &TrainingJob,
    h: HubId,
    now: f64,
    objective: Objective,
    c: &mut Candidate,
) {
    let pue = c.snap.pue;
    let duration = t.compute_hours * 3600.0;
    let facility_kw = f64::from(t.accelerators) * t.accelerator_w / 1000.0 * pue;
    c.energy_kwh = facility_kw * duration / 3600.0;
    c.extra_kw = facility_kw;
    let run = Run {
        now,
        latest: t.deadline_s - duration,
        duration_s: duration,
        facility_kw,
    };
    place_in_time(c, view, h, &run, objective, |s, e| {
        view.free_accelerators(h, t.accelerator, s, e) >= t.accelerators
    });
}

/// Gives deferrable work its best start (see [`best_start`]) and records whether its deadline
/// and capacity allow one.
fn place_in_time<V: ClusterView + ?Sized>(
    c: &mut Candidate,
    view: &V,
    h: HubId,
    run: &Run,
    objective: Objective,
    fits: impl Fn(f64, f64) -> bool,
) {
    c.deadline_ok = run.latest >= run.now;
    match best_start(view, h, run, objective, fits) {
        Some((s, cost, carbon)) => {
            c.start_s = s;
            c.end_s = s + run.duration_s;
            c.cost = cost;
            c.carbon_kg = carbon;
        }
        None => {
            // No start fits: for lack of capacity only when the deadline itself allows one.
            c.capacity_ok = !c.deadline_ok;
            c.end_s = run.now + run.duration_s;
        }
    }
}
