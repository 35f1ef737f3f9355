//! Integration tests of tokengrid-sched: one module per behaviour, on small hand-built views
//! where the right answer is obvious, and on the built-in scenario.

mod lp;
mod plugins;
mod policies;
mod properties;
mod shifting;
mod testview;
