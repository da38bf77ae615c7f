//! Work orders: job types, the status machine and the late/overdue marker.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

macro_rules! string_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable text stored in the database and sent on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

/// What the technician goes to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    Install,
    Maintain,
    Repair,
    Relocate,
    Inspect,
}

string_enum!(JobType {
    Install => "install",
    Maintain => "maintain",
    Repair => "repair",
    Relocate => "relocate",
    Inspect => "inspect",
});

/// Where a work order stands. Head office sets `Assigned` and `Cancelled`; the
/// technician moves it forward from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderStatus {
    Assigned,
    EnRoute,
    OnSite,
    InProgress,
    Completed,
    UnableToComplete,
    Cancelled,
}

string_enum!(WorkOrderStatus {
    Assigned => "assigned",
    EnRoute => "en_route",
    OnSite => "on_site",
    InProgress => "in_progress",
    Completed => "completed",
    UnableToComplete => "unable_to_complete",
    Cancelled => "cancelled",
});

/// Why a status change was refused. Carries no customer data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("a work order cannot go from {from} to {to}")]
    NotAllowed {
        from: &'static str,
        to: &'static str,
    },
    #[error("a reason is required to mark a work order as unable to complete")]
    ReasonRequired,
}

impl WorkOrderStatus {
    /// Finished one way or another: no further technician transitions.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            WorkOrderStatus::Completed
                | WorkOrderStatus::UnableToComplete
                | WorkOrderStatus::Cancelled
        )
    }

    /// The statuses a technician may move a work order to from `self`, in the order the
    /// screen offers them. Going forward may skip "en route" (the technician was already
    /// nearby) but never goes back; "unable to complete" is open from every open status.
    pub fn next_for_technician(self) -> &'static [WorkOrderStatus] {
        use WorkOrderStatus::*;
        match self {
            Assigned => &[EnRoute, OnSite, UnableToComplete],
            EnRoute => &[OnSite, UnableToComplete],
            OnSite => &[InProgress, UnableToComplete],
            InProgress => &[Completed, UnableToComplete],
            Completed | UnableToComplete | Cancelled => &[],
        }
    }

    /// The moves the work-order screen offers: on site, the visit's own steps start the
    /// work (the store stamps `in_progress` for them), so "complete" is offered at once
    /// and there is no separate "start work" step. The status machine itself is
    /// [`WorkOrderStatus::next_for_technician`].
    pub fn offered_to_technician(self) -> &'static [WorkOrderStatus] {
        use WorkOrderStatus::*;
        match self {
            OnSite => &[Completed, UnableToComplete],
            other => other.next_for_technician(),
        }
    }

    /// Checks a technician's transition. `reason` must be non-blank for
    /// `UnableToComplete`.
    pub fn check_transition(
        self,
        to: WorkOrderStatus,
        reason: Option<&str>,
    ) -> Result<(), TransitionError> {
        if !self.next_for_technician().contains(&to) {
            return Err(TransitionError::NotAllowed {
                from: self.as_str(),
                to: to.as_str(),
            });
        }
        if to == WorkOrderStatus::UnableToComplete && reason.is_none_or(|r| r.trim().is_empty()) {
            return Err(TransitionError::ReasonRequired);
        }
        Ok(())
    }
}

/// The marker shown beside a work order on Today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Lateness {
    /// Nothing to flag.
    OnTime,
    /// The appointment window has closed today and the technician is not on site yet.
    Late,
    /// The appointment was on an earlier day and the order is still open.
    Overdue,
}

/// Decides the marker. `today_start` is local midnight of the technician's day, in UTC.
pub fn lateness(
    status: WorkOrderStatus,
    appointment_end: DateTime<Utc>,
    now: DateTime<Utc>,
    today_start: DateTime<Utc>,
) -> Lateness {
    use WorkOrderStatus::*;
    if status.is_final() {
        return Lateness::OnTime;
    }
    if appointment_end < today_start {
        return Lateness::Overdue;
    }
    match status {
        Assigned | EnRoute if now > appointment_end => Lateness::Late,
        _ => Lateness::OnTime,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use WorkOrderStatus::*;

    #[test]
    fn status_text_round_trips() {
        for s in WorkOrderStatus::ALL {
            assert_eq!(WorkOrderStatus::parse(s.as_str()), Some(*s));
            // serde and the database use the same text
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        for j in JobType::ALL {
            assert_eq!(JobType::parse(j.as_str()), Some(*j));
        }
        assert_eq!(WorkOrderStatus::parse("done"), None);
    }

    #[test]
    fn transitions_table() {
        let cases = [
            (Assigned, EnRoute, None, true),
            (Assigned, OnSite, None, true),
            (Assigned, InProgress, None, false),
            (Assigned, Completed, None, false),
            (EnRoute, OnSite, None, true),
            (EnRoute, Assigned, None, false),
            (OnSite, InProgress, None, true),
            (OnSite, Completed, None, false),
            (InProgress, Completed, None, true),
            (InProgress, OnSite, None, false),
            (OnSite, UnableToComplete, Some("customer not home"), true),
            (OnSite, UnableToComplete, Some("   "), false),
            (OnSite, UnableToComplete, None, false),
            (Completed, InProgress, None, false),
            (Cancelled, EnRoute, None, false),
            (UnableToComplete, OnSite, None, false),
            (Assigned, Cancelled, None, false),
        ];
        for (from, to, reason, ok) in cases {
            assert_eq!(
                from.check_transition(to, reason).is_ok(),
                ok,
                "{from:?} -> {to:?} with {reason:?}"
            );
        }
        assert_eq!(
            OnSite.check_transition(UnableToComplete, None),
            Err(TransitionError::ReasonRequired)
        );
    }

    #[test]
    fn final_statuses_offer_nothing() {
        for s in WorkOrderStatus::ALL {
            assert_eq!(s.is_final(), s.next_for_technician().is_empty(), "{s:?}");
        }
    }

    #[test]
    fn lateness_table() {
        let t = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, 24, h, m, 0).unwrap();
        let today = t(0, 0);
        let yesterday_end = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap();
        let cases = [
            (Assigned, t(12, 0), t(11, 0), Lateness::OnTime),
            (Assigned, t(12, 0), t(12, 1), Lateness::Late),
            (EnRoute, t(12, 0), t(13, 0), Lateness::Late),
            (OnSite, t(12, 0), t(13, 0), Lateness::OnTime),
            (InProgress, yesterday_end, t(9, 0), Lateness::Overdue),
            (Assigned, yesterday_end, t(9, 0), Lateness::Overdue),
            (Completed, yesterday_end, t(9, 0), Lateness::OnTime),
            (Cancelled, t(12, 0), t(13, 0), Lateness::OnTime),
        ];
        for (status, end, now, want) in cases {
            assert_eq!(
                lateness(status, end, now, today),
                want,
                "{status:?} {end} {now}"
            );
        }
    }
}
