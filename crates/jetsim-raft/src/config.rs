//! Timing and batching configuration of a Raft group.

use crate::NodeId;

/// One millisecond in nanoseconds.
pub const MS: u64 = 1_000_000;
/// One second in nanoseconds.
pub const SEC: u64 = 1_000_000_000;

/// Timings (all in nanoseconds of virtual time) and limits of one Raft group.
///
/// Every node of a group should use the same configuration. The defaults are
/// nats-server's (`server/raft.go`, constants block at the top of the file:
/// `minElectionTimeoutDefault` … `lostQuorumCheckIntervalDefault`), see
/// [`Config::nats_defaults`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Lower bound of the randomised election timeout (nats: 4 s).
    pub election_min: u64,
    /// Upper bound (exclusive) of the election timeout (nats: 9 s).
    pub election_max: u64,
    /// Lower bound of the randomised "campaign" timeout (nats: 100 ms). Used
    /// when a follower that has not voted rejects a vote request because its
    /// own log is more up to date (it then campaigns soon itself, raft.go
    /// `processVoteRequest`) and by [`crate::Raft::campaign`] (raft.go
    /// `Campaign`, used for a freshly bootstrapped meta group).
    pub campaign_min: u64,
    /// Upper bound (exclusive) of the campaign timeout (nats: 800 ms).
    pub campaign_max: u64,
    /// Delay before the target of a leader transfer campaigns (nats:
    /// `xferCampaign`, 10 ms).
    pub transfer_campaign: u64,
    /// Heartbeat ticker of a leader (nats `hbInterval`, 1 s). On each tick the
    /// leader sends an empty AppendEntries only if it appended nothing during
    /// the last `heartbeat` (raft.go `notActive`).
    pub heartbeat: u64,
    /// A peer counts towards quorum if the leader heard from it within this
    /// window (nats `lostQuorumInterval`, 10 s).
    pub lost_quorum: u64,
    /// How often the leader checks for lost quorum (nats `lostQuorumCheck`,
    /// 10 s; the first check happens one period after winning the election).
    pub lost_quorum_check: u64,
    /// A leader-transfer target must have been heard from within this window
    /// (nats `StepDown`: `3*hbInterval`).
    pub healthy_window: u64,
    /// Maximum number of entries in one AppendEntries message.
    pub max_batch_entries: u32,
    /// While catching up a lagging follower, how many batches the leader
    /// keeps in flight (each answer tops the window up). New proposals are
    /// always sent at once to followers that are up to date.
    pub catchup_window: u32,
    /// After its commit index advances, the leader immediately sends the new
    /// commit index to its followers (raft.go `processAppendEntryResponse`:
    /// "Send a heartbeat if there is no other message lined up, so that
    /// followers can apply without waiting for the next message").
    pub commit_notify: bool,
    /// The preferred first leader of a new group (nats `rg.setPreferred` +
    /// `CampaignImmediately`): if this node is the preferred one and its term
    /// is 0, it campaigns after `campaign_min / 2` instead of a full election
    /// timeout.
    pub preferred_leader: Option<NodeId>,
}

impl Default for Config {
    fn default() -> Config {
        Config::nats_defaults()
    }
}

impl Config {
    /// nats-server's timings (identical from 2.9.10 to main).
    pub fn nats_defaults() -> Config {
        Config {
            election_min: 4 * SEC,
            election_max: 9 * SEC,
            campaign_min: 100 * MS,
            campaign_max: 800 * MS,
            transfer_campaign: 10 * MS,
            heartbeat: SEC,
            lost_quorum: 10 * SEC,
            lost_quorum_check: 10 * SEC,
            healthy_window: 3 * SEC,
            max_batch_entries: 256,
            catchup_window: 4,
            commit_notify: true,
            preferred_leader: None,
        }
    }

    /// Multiplies every duration by `num / den` (for demos that run the
    /// protocol faster or slower); counts and flags are unchanged, so the
    /// behaviour is the same up to the time scale. `den == 0` leaves the
    /// configuration unchanged. Results saturate at `u64::MAX` and are at
    /// least 1 ns for durations that were non-zero.
    pub fn scaled(self, num: u64, den: u64) -> Config {
        if den == 0 {
            return self;
        }
        let s = |d: u64| -> u64 {
            if d == 0 {
                return 0;
            }
            let v = (d as u128) * (num as u128) / (den as u128);
            v.clamp(1, u64::MAX as u128) as u64
        };
        Config {
            election_min: s(self.election_min),
            election_max: s(self.election_max),
            campaign_min: s(self.campaign_min),
            campaign_max: s(self.campaign_max),
            transfer_campaign: s(self.transfer_campaign),
            heartbeat: s(self.heartbeat),
            lost_quorum: s(self.lost_quorum),
            lost_quorum_check: s(self.lost_quorum_check),
            healthy_window: s(self.healthy_window),
            ..self
        }
    }

    /// Builder-style setter for [`Config::preferred_leader`].
    pub fn with_preferred_leader(mut self, id: Option<NodeId>) -> Config {
        self.preferred_leader = id;
        self
    }

    /// Checks that the bounds are ordered and non-zero where it matters.
    pub fn validate(&self) -> Result<(), String> {
        if self.election_min == 0 || self.election_max < self.election_min {
            return Err(format!(
                "election timeout range {}..{} is empty or zero",
                self.election_min, self.election_max
            ));
        }
        if self.campaign_max < self.campaign_min {
            return Err("campaign_max < campaign_min".into());
        }
        if self.heartbeat == 0 || self.lost_quorum_check == 0 {
            return Err("heartbeat and lost_quorum_check must be non-zero".into());
        }
        if self.max_batch_entries == 0 || self.catchup_window == 0 {
            return Err("max_batch_entries and catchup_window must be at least 1".into());
        }
        Ok(())
    }
}
