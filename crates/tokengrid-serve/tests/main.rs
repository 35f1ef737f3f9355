//! Integration tests of tokengrid-serve.

mod api;
mod billing;
mod config;
mod gateway;
mod health;
mod hubs;
mod keys;
mod ledger;
mod limits;
mod openai;
mod outage;
mod sockets;
