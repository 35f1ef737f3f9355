//! Deferred batch work: held at its origin until its start time, kept off the event heap (one
//! `Release` event stands for the earliest).

use crate::engine::Nanos;

use super::{Ev, Sim};

impl Sim<'_> {
    pub(super) fn defer(&mut self, at: Nanos, id: u32) {
        self.deferred.push(std::cmp::Reverse((at, id)));
        if self.next_release.is_none_or(|t| at < t) {
            self.next_release = Some(at);
            self.engine.schedule(at, Ev::Release);
        }
    }

    pub(super) fn release(&mut self) {
        let now = self.world.now();
        if self.next_release != Some(now) {
            return; // superseded by an earlier Release
        }
        self.next_release = None;
        while let Some(&std::cmp::Reverse((at, id))) = self.deferred.peek() {
            if at > now {
                self.next_release = Some(at);
                self.engine.schedule(at, Ev::Release);
                break;
            }
            self.deferred.pop();
            let r = self.requests[id as usize];
            self.world.send_prefill(r.pool as usize, r.prompt);
            self.engine.after(r.one_way, Ev::ReachHub { req: id });
        }
    }
}
