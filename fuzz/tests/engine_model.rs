//! The engine_model target's property: it holds for the correct engine on sequences that touch
//! every rule, and fails for an engine with a session-rule fault switched on.

use std::panic::{AssertUnwindSafe, catch_unwind};

use oap_fuzz::engine_model::{EngineInput, EngineOp, Fixture, WriteKind, check, check_with};
use oap_ref::{Fault, FaultSet};

fn write(kind: WriteKind, actor: u8, expected: Option<u8>, turn: u8) -> EngineOp {
    EngineOp::Write {
        kind,
        session: 0,
        actor,
        expected,
        turn,
        value: Some(7),
    }
}

/// Create, a good update, a stale one, a replayed turn id, an outsider, pause, an update while
/// paused, resume, close, a write after close, a repeated close, reads.
fn every_rule() -> EngineInput {
    use WriteKind::*;
    EngineInput(vec![
        EngineOp::Create { actor: 0 },
        write(Update, 0, Some(0), 1),
        write(Update, 0, Some(0), 2),
        write(Update, 0, None, 1),
        write(Update, 1, Some(1), 3),
        EngineOp::Read {
            session: 0,
            actor: 1,
        },
        write(Pause, 0, Some(1), 3),
        write(Update, 0, Some(2), 4),
        write(Resume, 0, None, 4),
        write(Update, 0, Some(3), 5),
        write(Close, 0, None, 0),
        write(Update, 0, None, 6),
        write(Close, 0, None, 7),
        EngineOp::Create { actor: 1 },
        EngineOp::Read {
            session: 1,
            actor: 1,
        },
    ])
}

#[test]
fn the_correct_engine_agrees_with_the_model() {
    check(&every_rule());
}

#[test]
fn faulty_engines_disagree_with_the_model() {
    for fault in [
        Fault::SkipExpectedVersionCheck,
        Fault::DoubleVersionBump,
        Fault::ApplyReplayedTurnId,
        Fault::WritePausedSessions,
        Fault::WriteClosedSessions,
        Fault::AcceptNonParticipant,
        Fault::WrongPreviousTurnId,
    ] {
        let f = Fixture::new(FaultSet::one(fault)).unwrap_or_else(|| panic!("fixture"));
        let caught = catch_unwind(AssertUnwindSafe(|| check_with(&f, &every_rule())));
        assert!(caught.is_err(), "{fault}: the model did not notice");
    }
}
