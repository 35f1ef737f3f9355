//! Integration tests of tokengrid-serve.

mod api;
mod ledger;
mod sockets;
