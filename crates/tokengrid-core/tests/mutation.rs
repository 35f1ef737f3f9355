//! Mutated scenario text (random deletions, duplications, byte flips) never panics: every outcome
//! is a scenario or located errors.

use proptest::prelude::*;
use tokengrid_core::{LoadError, builtin, load_bytes};

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Duplicate { at: usize, len: usize },
    Flip { at: usize, xor: u8 },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 1usize..200).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (any::<usize>(), 1u8..=255).prop_map(|(at, xor)| Mutation::Flip { at, xor }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    match *m {
        Mutation::Delete { at, len } => {
            let at = at % bytes.len();
            let end = (at + len).min(bytes.len());
            bytes.drain(at..end);
        }
        Mutation::Duplicate { at, len } => {
            let at = at % bytes.len();
            let end = (at + len).min(bytes.len());
            let copy: Vec<u8> = bytes[at..end].to_vec();
            bytes.splice(end..end, copy);
        }
        Mutation::Flip { at, xor } => {
            let at = at % bytes.len();
            bytes[at] ^= xor;
        }
    }
}

fn check(original: &str, mutations: &[Mutation]) -> Result<(), TestCaseError> {
    let mut bytes = original.as_bytes().to_vec();
    for m in mutations {
        apply(&mut bytes, m);
    }
    let lines = bytes.iter().filter(|b| **b == b'\n').count() + 1;
    match load_bytes(&bytes, "m.toml", None) {
        Ok(_) => {}
        Err(LoadError::Invalid(d)) => {
            prop_assert!(!d.0.is_empty());
            for diag in &d.0 {
                prop_assert!(
                    diag.line >= 1 && diag.line <= lines,
                    "line {} of {lines}: {diag}",
                    diag.line
                );
                prop_assert!(diag.column >= 1, "{diag}");
                prop_assert!(!diag.message.is_empty());
                prop_assert_eq!(&diag.file, "m.toml");
            }
        }
        Err(other) => prop_assert!(false, "unexpected error kind: {other}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_two_hubs_never_panics(ms in prop::collection::vec(mutation(), 1..5)) {
        check(builtin::text("two-hubs").expect("text"), &ms)?;
    }

    #[test]
    fn mutated_default_never_panics(ms in prop::collection::vec(mutation(), 1..5)) {
        check(builtin::text("china-east-west").expect("text"), &ms)?;
    }
}
