//! Histories that are correct by construction, generated from the sequential model.
//!
//! [`synthesize`] draws a sequence of operations from a seed, runs them one after another
//! through the [`SessionModel`] (so every answer is what a correct Tool gives), and only then
//! spreads them in time: operation `i` is linearized at instant `i·spacing`, and each client's
//! operations get windows around their linearization points that stretch up to its previous and
//! next operation. With `c` clients every window spans about `c` other operations, so the
//! history is heavily concurrent yet linearizable by construction. Some turns are recorded as
//! indeterminate, applied or not; the history ends with a complete log read and a state read.
//!
//! The checkers' property tests and the benchmark use these histories; [`super::faults`]
//! breaks them in controlled ways.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use serde_json::{Value, json};

use super::history::{Base, ClientId, History, Nanos, Op, OpId, Operation, Ret, Status, TurnKey};
use super::model::{SessionModel, genesis_entry};

/// Relative weights of the operations drawn.
#[derive(Clone, Debug)]
pub struct Mix {
    /// Updates with the model's current version (mostly acknowledged).
    pub fresh_update: u32,
    /// Updates with the client's last observed version (conflict when someone wrote since).
    pub update: u32,
    /// Updates with a deliberately stale version.
    pub stale_update: u32,
    /// Replays of an earlier update.
    pub replay: u32,
    /// State reads.
    pub read: u32,
    /// Log reads.
    pub log_read: u32,
    /// Joins, leaves, pauses and resumes.
    pub admin: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            fresh_update: 30,
            update: 15,
            stale_update: 5,
            replay: 3,
            read: 37,
            log_read: 8,
            admin: 2,
        }
    }
}

/// How to generate a history.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    /// Concurrent clients (at least 1).
    pub clients: u32,
    /// Operations, besides the two final reads.
    pub ops: usize,
    /// Distinct top-level keys the patches touch.
    pub keys: u32,
    /// Operation weights.
    pub mix: Mix,
    /// Probability that a turn is recorded as indeterminate (half of them apply).
    pub indeterminate: f64,
    /// Receipts per log page in the middle of the run.
    pub log_page: usize,
    /// Keep state values in the history (`false`: fingerprints only).
    pub keep_values: bool,
    /// Nanoseconds between consecutive linearization points.
    pub spacing: Nanos,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            clients: 8,
            ops: 200,
            keys: 8,
            mix: Mix::default(),
            indeterminate: 0.02,
            log_page: 16,
            keep_values: true,
            spacing: 1_000,
        }
    }
}

/// A pool of patches over `keys` members: set a number, delete, set a nested object, or two
/// members at once.
fn patch_pool(rng: &mut StdRng, keys: u32) -> Vec<Arc<Value>> {
    let keys = keys.max(1);
    (0..256)
        .map(|i| {
            let k = format!("k{}", rng.gen_range(0..keys));
            let v: Value = match i % 8 {
                0 => Value::Null,
                1 => json!({ "n": rng.gen_range(0..100), "tag": format!("t{i}") }),
                _ => json!(rng.gen_range(0..1000)),
            };
            let mut p = serde_json::Map::new();
            p.insert(k, v);
            if i % 5 == 0 {
                p.insert(format!("k{}", rng.gen_range(0..keys)), json!(i));
            }
            Arc::new(Value::Object(p))
        })
        .collect()
}

fn turn_id(rng: &mut StdRng) -> TurnKey {
    let random = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
    let ulid = ulid::Ulid::from_parts(rng.next_u64() >> 16, random);
    Arc::from(oap_wire::ids::TurnId::from_ulid(ulid).as_str())
}

fn pick_kind(rng: &mut StdRng, mix: &Mix) -> usize {
    let weights = [
        mix.fresh_update,
        mix.update,
        mix.stale_update,
        mix.replay,
        mix.read,
        mix.log_read,
        mix.admin,
    ];
    let total: u32 = weights.iter().sum::<u32>().max(1);
    let mut x = rng.gen_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    4
}

/// Draws the next request for `client`.
fn draw_op(
    rng: &mut StdRng,
    cfg: &SynthConfig,
    model: &SessionModel,
    observed: u64,
    pool: &[Arc<Value>],
    updates: &[(u64, TurnKey, Arc<Value>)],
) -> Op {
    let patch = pool[rng.gen_range(0..pool.len())].clone();
    match pick_kind(rng, &cfg.mix) {
        0 => Op::Update {
            expected_version: model.version(),
            turn_id: turn_id(rng),
            patch,
        },
        1 => Op::Update {
            expected_version: observed,
            turn_id: turn_id(rng),
            patch,
        },
        2 => Op::Update {
            expected_version: model.version().saturating_sub(rng.gen_range(1..4)),
            turn_id: turn_id(rng),
            patch,
        },
        3 if !updates.is_empty() => {
            let (expected, turn, patch) = &updates[rng.gen_range(0..updates.len())];
            Op::Replay {
                expected_version: if rng.gen_bool(0.5) {
                    *expected
                } else {
                    observed
                },
                turn_id: turn.clone(),
                patch: patch.clone(),
            }
        }
        5 => Op::ReadLog {
            from: model
                .version()
                .saturating_sub(rng.gen_range(0..cfg.log_page.max(1)) as u64),
        },
        6 => {
            let turn_id = turn_id(rng);
            match (model.status(), rng.gen_range(0..10)) {
                (Status::Paused, 0..7) => Op::Resume { turn_id },
                (_, 0..2) => Op::Pause { turn_id },
                (_, 2..6) => Op::Join { turn_id },
                _ => Op::Leave { turn_id },
            }
        }
        _ => Op::Read,
    }
}

/// Spreads each client's operations around their linearization points.
fn windows(rng: &mut StdRng, cfg: &SynthConfig, owners: &[ClientId]) -> Vec<(Nanos, Nanos)> {
    let spacing = cfg.spacing.max(4);
    let reach = spacing * Nanos::from(cfg.clients.max(1));
    let point = |i: usize| reach + spacing * (i as Nanos + 1);
    let mut out = vec![(0, 0); owners.len()];
    let mut last: Vec<Option<usize>> = vec![None; cfg.clients.max(1) as usize];
    for (i, &c) in owners.iter().enumerate() {
        let t = point(i);
        match last[c as usize] {
            None => out[i].0 = t - rng.gen_range(0..reach),
            Some(prev) => {
                let tp = point(prev);
                let split = rng.gen_range(tp..t);
                out[prev].1 = split;
                out[i].0 = rng.gen_range(split + 1..=t);
            }
        }
        last[c as usize] = Some(i);
    }
    for slot in last.into_iter().flatten() {
        out[slot].1 = point(slot) + rng.gen_range(0..reach);
    }
    out
}

/// Generates a linearizable history from `seed`.
pub fn synthesize(seed: u64, cfg: &SynthConfig) -> History {
    let mut rng = StdRng::seed_from_u64(seed);
    let session = oap_wire::ids::SessionId::from_ulid(ulid::Ulid::from_parts(
        rng.next_u64() >> 16,
        u128::from(rng.next_u64()),
    ));
    let base = Base::default();
    let genesis = genesis_entry(
        turn_id(&mut rng),
        Arc::from(session.genesis_turn_id().as_str()),
    );
    let mut model = SessionModel::new(&base, vec![genesis]);
    model.keep_values = cfg.keep_values;
    model.page_limit = cfg.log_page.max(1);
    let pool = patch_pool(&mut rng, cfg.keys);
    let clients = cfg.clients.max(1);
    let mut observed = vec![base.version; clients as usize];
    let mut updates: Vec<(u64, TurnKey, Arc<Value>)> = Vec::new();

    let mut owners = Vec::with_capacity(cfg.ops);
    let mut drawn = Vec::with_capacity(cfg.ops);
    for _ in 0..cfg.ops {
        let client = rng.gen_range(0..clients);
        let op = draw_op(
            &mut rng,
            cfg,
            &model,
            observed[client as usize],
            &pool,
            &updates,
        );
        let lost = op.turn().is_some() && rng.gen_bool(cfg.indeterminate.clamp(0.0, 1.0));
        let ret = if lost {
            if rng.gen_bool(0.5) {
                model.step(&op);
            }
            Ret::Indeterminate {
                reason: "timeout".into(),
            }
        } else {
            model.step(&op)
        };
        if let Some(v) = ret.observed_version() {
            observed[client as usize] = v;
        }
        if let Op::Update {
            expected_version,
            turn_id,
            patch,
        } = &op
        {
            if updates.len() < 64 {
                updates.push((*expected_version, turn_id.clone(), patch.clone()));
            } else {
                let slot = rng.gen_range(0..updates.len());
                updates[slot] = (*expected_version, turn_id.clone(), patch.clone());
            }
        }
        owners.push(client);
        drawn.push((op, ret));
    }

    let spans = windows(&mut rng, cfg, &owners);
    let mut ops: Vec<Operation> = drawn
        .into_iter()
        .zip(owners)
        .zip(spans)
        .map(|(((op, ret), client), (invoked, returned))| {
            let returned = if ret.is_indeterminate() {
                invoked + rng.gen_range(0..=returned - invoked)
            } else {
                returned
            };
            Operation {
                client,
                op,
                ret,
                invoked,
                returned,
            }
        })
        .collect();

    let end = ops.iter().map(|o| o.returned).max().unwrap_or(0) + cfg.spacing.max(4);
    model.page_limit = usize::MAX;
    let final_log = Op::ReadLog { from: 0 };
    let log_ret = model.step(&final_log);
    let state_ret = model.step(&Op::Read);
    let observer = clients;
    ops.push(Operation {
        client: observer,
        op: final_log,
        ret: log_ret,
        invoked: end,
        returned: end + 1,
    });
    ops.push(Operation {
        client: observer,
        op: Op::Read,
        ret: state_ret,
        invoked: end + 2,
        returned: end + 3,
    });
    let n = ops.len() as OpId;
    History {
        session_id: Some(session.to_string()),
        seed: Some(seed),
        base,
        ops,
        final_read: Some(n - 1),
        final_log: Some(n - 2),
        chain: None,
        tool_did: None,
        amp: None,
    }
}
