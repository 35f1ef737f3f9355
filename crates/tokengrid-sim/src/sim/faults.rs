//! Faults from the scenario: hub outages (work in flight is dispatched again or fails) and link
//! degradations.

use tokengrid_core::HubId;

use super::{Sim, State};

impl Sim<'_> {
    pub(super) fn hub_down(&mut self, hub: HubId) {
        let now = self.world.now();
        self.stats.n.hub_outages += 1;
        self.world.set_up(hub, false);
        let evacuated = self.world.evacuate(hub, now);
        for id in evacuated {
            // Work in flight on a failed hub is dispatched again (from its origin) or fails.
            self.requests[id as usize].state = State::InFlight;
            self.dispatch(id, true);
        }
        // Training running there fails.
        for j in 0..self.jobs.len() {
            let job = self.jobs[j];
            let here =
                job.placement.hub == hub || job.placement.split.is_some_and(|sp| sp.hub == hub);
            if here && job.state == State::Running {
                self.stop_training(j, State::Failed);
                self.stats.n.jobs_failed += 1;
            }
        }
    }

    /// A link fault starts or ends: the scenario's explicit links come first in the topology, so
    /// link `i` of the scenario is link `i` of the site graph. New decisions and requests see the
    /// changed round trip; work already placed keeps its plan.
    pub(super) fn link_fault(&mut self, link: usize, degradation: usize, on: bool) {
        let Some(l) = self.s.links.get(link) else {
            return;
        };
        let Some(d) = l.degradations.get(degradation) else {
            return;
        };
        if on {
            self.world.set_link_condition(link, d.extra_rtt_ms, d.loss);
        } else {
            self.world.set_link_condition(link, 0.0, l.loss);
        }
        if on {
            self.stats.n.link_faults += 1;
        }
    }
}
