//! Integration tests of tokengrid-serve.

mod api;
mod ledger;
mod openai;
mod sockets;
