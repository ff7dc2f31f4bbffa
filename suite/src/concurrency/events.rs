//! Histories from events: each client logs "invoked" and "returned" separately, as stateright
//! and Jepsen histories do, and [`History::from_events`] pairs them.
//!
//! A client has at most one operation open at a time; an invocation that never got its return
//! (the client crashed, the run was cut short) becomes an indeterminate operation, because its
//! request may still have applied.

use std::collections::HashMap;

use super::history::{Base, ClientId, History, Nanos, Op, Operation, Ret};

/// Why events could not be assembled into a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// A client invoked an operation while its previous one was still open.
    #[error("client {0} invoked while an operation was open")]
    Overlapping(ClientId),
    /// A return came from a client with no open operation.
    #[error("client {0} returned with no open operation")]
    Unmatched(ClientId),
    /// A return is earlier than its invocation.
    #[error("client {0} returned before it invoked")]
    Backwards(ClientId),
}

/// One half of an operation, as a client logs it (the stateright / Jepsen event form).
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The client sent a request.
    Invoke {
        /// The client.
        client: ClientId,
        /// When.
        at: Nanos,
        /// What.
        op: Op,
    },
    /// The client recorded the outcome of its open request.
    Return {
        /// The client.
        client: ClientId,
        /// When.
        at: Nanos,
        /// What came back.
        ret: Ret,
    },
}

impl History {
    /// Pairs invoke and return events per client. An invocation never answered is recorded
    /// as indeterminate, returned at the last instant seen.
    pub fn from_events(
        base: Base,
        events: impl IntoIterator<Item = Event>,
    ) -> Result<Self, HistoryError> {
        let mut open: HashMap<ClientId, (Op, Nanos)> = HashMap::new();
        let mut ops = Vec::new();
        let mut last = 0;
        for event in events {
            match event {
                Event::Invoke { client, at, op } => {
                    last = last.max(at);
                    if open.insert(client, (op, at)).is_some() {
                        return Err(HistoryError::Overlapping(client));
                    }
                }
                Event::Return { client, at, ret } => {
                    last = last.max(at);
                    let (op, invoked) = open
                        .remove(&client)
                        .ok_or(HistoryError::Unmatched(client))?;
                    if at < invoked {
                        return Err(HistoryError::Backwards(client));
                    }
                    ops.push(Operation {
                        client,
                        op,
                        ret,
                        invoked,
                        returned: at,
                    });
                }
            }
        }
        let mut dangling: Vec<_> = open.into_iter().collect();
        dangling.sort_by_key(|(client, _)| *client);
        for (client, (op, invoked)) in dangling {
            ops.push(Operation {
                client,
                op,
                ret: Ret::Indeterminate {
                    reason: "never answered".into(),
                },
                invoked,
                returned: last.max(invoked),
            });
        }
        Ok(Self::new(base, ops))
    }
}
