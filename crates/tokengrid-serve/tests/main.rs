//! Integration tests of tokengrid-serve.

mod ledger;
